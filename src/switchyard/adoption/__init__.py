"""Moving an MCP setup behind Switchyard: checking that each server works the same through the gateway."""

"""Connections to backend MCP servers: transports, JSON-RPC multiplexing, supervision."""

"""Defences against hostile backends: the poisoning scan of tool metadata and tool-definition pinning."""

"""MCP clients' own config files: reading their servers, rewriting them to reach the gateway, and undoing that.

One module per client format (`claude_desktop`, `claude_code`, `cursor`, `vscode`, `windsurf`, `gemini`, `codex`),
registered by name in `formats`; `importing`, `connecting` and `backups` do the work behind `switchyard import`,
`connect`, `restore` and `export`.
"""

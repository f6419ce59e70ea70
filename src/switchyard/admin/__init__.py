"""Administration shared by the CLI and the REST API under /admin/api: servers, tools, pins, keys and audit."""

"""Tool search: an index over the catalogue, and the meta-tools that expose it to clients."""

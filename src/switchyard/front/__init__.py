"""Where clients connect: stdio and Streamable HTTP fronts, and the per-client session they share."""

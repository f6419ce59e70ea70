"""Wire-level protocol pieces shared by the fronts and the upstream connections."""

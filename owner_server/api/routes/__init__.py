"""Route modules, one per API area."""

"""The ``custos-server`` command line (Typer)."""

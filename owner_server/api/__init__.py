"""HTTP layer: thin routes over :mod:`owner_server.services`."""

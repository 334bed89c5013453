"""Domain services: keyword-only, HTTP-free, raising :mod:`shared.errors`."""

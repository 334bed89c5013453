"""The lists domain (see ../shared/STYLE.md)."""

"""The identity domain (see ../shared/STYLE.md)."""

"""The core domain (see ../shared/STYLE.md)."""

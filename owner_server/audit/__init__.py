"""The audit domain (see ../shared/STYLE.md)."""

"""The work domain (see ../shared/STYLE.md)."""

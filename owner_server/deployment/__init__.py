"""Deployment: what IT at the outsourcer installs beside every agent client (see ../shared/STYLE.md)."""

"""Custos owner server: the owner's vault of contact lists and the real control.

FastAPI on SQLModel. The app is built by :func:`owner_server.api.app.create_app`;
nothing connects to a database or reads a key at import time.
"""

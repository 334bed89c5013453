"""Alembic migrations of the owner server's database."""

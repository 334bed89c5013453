"""Custos agent desktop client: one record at a time, locked down, reported back."""

"""Test support code (real components started for the tests)."""

"""Fixtures of the server tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from owner_server.api.app import create_app


@pytest.fixture
def client(installation) -> Iterator[TestClient]:
    """The real app in process (TestClient) over the test installation's SQLite database."""
    app = create_app(installation.settings, engine=installation.engine, keys=installation.keys)
    with TestClient(app, base_url="https://testserver") as c:
        yield c

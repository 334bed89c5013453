"""Fixtures of the agent client tests (Qt runs offscreen)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from agent_client.api import AgentApi
from tests.agent_client.agent_fakes import BASE_URL, FakeAgentServer, make_ca_pem


@pytest.fixture
def ca_pem():
    return make_ca_pem()


@pytest.fixture
def fake_server():
    return FakeAgentServer()


@pytest.fixture
def bodies():
    return []


@pytest.fixture
def api(fake_server, bodies):
    client = AgentApi(BASE_URL, transport=fake_server.transport(), on_response=bodies.append)
    yield client
    client.close()

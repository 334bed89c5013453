"""The ARI double keeps Asterisk's rule: one WebSocket holds a Stasis application, the newest one.

"If multiple WebSockets attempt to subscribe to the same application, the newer WebSocket wins, and
the older one receives this event" (ARI data models, ``ApplicationReplaced``); when the holding socket
closes, the application's events go nowhere (``res/ari/resource_events.c``) and its channels stay.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.ari_process import ari_double, read_events

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": "Basic " + base64.b64encode(b"custos:ari-secret").decode()}


def test_the_newer_socket_takes_the_app_and_its_closing_leaves_the_events_undelivered(tmp_path):
    with ari_double(tmp_path, "answered") as (port, log):
        url = f"ws://127.0.0.1:{port}/ari/events?app=shared&subscribeAll=false"
        with connect(url, additional_headers=AUTH) as older:
            with connect(url, additional_headers=AUTH) as newer:
                assert json.loads(older.recv(timeout=5)) == {"type": "ApplicationReplaced", "application": "shared"}
                body = {"endpoint": "PJSIP/1001", "app": "shared", "appArgs": "agent,c1", "channelId": "c1-agent"}
                assert httpx.post(f"http://127.0.0.1:{port}/ari/channels", json=body, headers=AUTH).status_code == 200
                seen = []
                while "StasisStart" not in seen:
                    seen.append(json.loads(newer.recv(timeout=5))["type"])
            time.sleep(0.3)  # the double sees the close
            listed = httpx.get(f"http://127.0.0.1:{port}/ari/channels", headers=AUTH).json()
            assert [c["id"] for c in listed] == ["c1-agent"]  # the channel stays in Stasis
            gone = httpx.delete(f"http://127.0.0.1:{port}/ari/channels/c1-agent", headers=AUTH)
            assert gone.status_code == 204
            with pytest.raises(TimeoutError):
                older.recv(timeout=0.5)  # the replaced socket is not given the app back
    events = read_events(log)
    assert [e["delivered"] for e in events if e["type"] == "StasisStart"] == [True]
    assert [e["delivered"] for e in events if e["type"] == "ChannelDestroyed"] == [False]

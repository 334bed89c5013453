"""Asterisk REST Interface (ARI) provider, as documented for Asterisk 20 and 22.

REST (``/ari``, HTTP basic auth with an ``ari.conf`` user)::

    POST   /ari/channels                    originate (endpoint, app, appArgs, callerId, timeout, channelId)
    POST   /ari/bridges                     type=mixing, bridgeId
    POST   /ari/bridges/{id}/addChannel     channel
    POST   /ari/channels/{id}/variable      variable, value (CONNECTEDLINE on the agent's leg)
    DELETE /ari/channels/{id}               hang a leg up
    DELETE /ari/bridges/{id}

Events: the WebSocket ``/ari/events?app=<app>`` (``StasisStart`` when a leg
answers into the app, ``ChannelStateChange``, ``ChannelHangupRequest``,
``ChannelDestroyed`` with ``cause``/``cause_txt``).

A call: the agent's own phone is originated into the Stasis app with the
campaign's name as caller ID; on its ``StasisStart`` a mixing bridge is made
and the customer's leg is originated through the trunk (the only request
that holds the number, in its JSON body so no URL or access log has it);
on the customer's ``StasisStart`` it joins the bridge and the agent's
connected line is set to the campaign's name again. When one leg ends, the
other is hung up. Every parameter goes in the JSON body, never the query.

Several server processes: Asterisk lets one WebSocket at a time hold a Stasis
application. A newer connection for the same name takes every event of it
and the older one gets ``ApplicationReplaced`` and nothing after (ARI data
models, "ApplicationReplaced"; ``res/stasis/app.c`` ``app_update``); when the
holding connection closes the application gets no events until a socket
registers it again. So each process registers its own application,
``<app>-<8 hex>`` (:attr:`AriProvider.app`), and originates its calls into
it: a call's events reach the process that placed it, and only that one.
Hanging up is a REST request any process can make (the placing process then
sees the legs end). A call whose process died is finished by the orphan
check of any process (:mod:`owner_server.telephony.orphans`).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from owner_server.models._common import utcnow
from owner_server.telephony.ari_events import EventListener
from owner_server.telephony.causes import agent_leg_result, customer_leg_result
from owner_server.telephony.provider import (
    AgentPhoneUnavailableError,
    CallSpec,
    CallUpdate,
    Sink,
    TelephonyUnavailableError,
)
from owner_server.telephony.settings import AriSettings
from shared.calls import CallResult, CallState

__all__ = ["AriProvider"]

log = logging.getLogger("custos.telephony")
_UNREACHABLE = "the telephony (Asterisk ARI) cannot be reached"
_REFUSED = "the telephony (Asterisk ARI) refused the server's credentials"


@dataclass(slots=True)
class _Live:
    spec: CallSpec
    agent_up: bool = False
    customer_up: bool = False
    customer_placed: bool = False
    hangup_requested: bool = False
    ended: bool = False

    @property
    def agent(self) -> str:
        return f"{self.spec.call_id}-agent"

    @property
    def customer(self) -> str:
        return f"{self.spec.call_id}-customer"

    @property
    def bridge(self) -> str:
        return f"{self.spec.call_id}-bridge"


def _caller_id(name: str, number: str = "") -> str:
    clean = name.replace('"', "").replace("<", "").replace(">", "")
    return f'"{clean}" <{number}>'


class AriProvider:
    """Places calls through Asterisk ARI and follows them on the events WebSocket.

    Args:
        settings: The ``[ari]`` section of ``telephony.toml``.
    """

    name = "ari"

    def __init__(self, settings: AriSettings) -> None:
        self._settings = settings
        self._secret = settings.secret()
        self._http = httpx.Client(
            base_url=settings.url + "/ari", auth=(settings.user, self._secret), timeout=settings.request_timeout_s
        )
        self._calls: dict[str, _Live] = {}
        self._by_channel: dict[str, str] = {}
        self._lock = threading.Lock()
        #: This process's own Stasis application (random per process: no two processes share one).
        self.app = f"{settings.app}-{secrets.token_hex(4)}"
        self._events = EventListener(settings, self._secret, self._on_message, app=self.app)
        self._sink: Sink | None = None
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines name request URLs

    # -- lifecycle -----------------------------------------------------------------
    def start(self, sink: Sink) -> None:
        """Connect the events WebSocket (and keep it connected) on a worker thread (idempotent)."""
        with self._lock:
            self._sink = sink
            self._events.start()

    def stop(self) -> None:
        """Close the WebSocket and the HTTP client."""
        self._events.stop()
        self._http.close()

    def _ready(self) -> None:
        if not self._events.wait_connected(self._settings.request_timeout_s):
            raise TelephonyUnavailableError(_REFUSED if self._events.refused else _UNREACHABLE)

    # -- REST ----------------------------------------------------------------------
    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, allow_500: bool = False
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError:
            raise TelephonyUnavailableError(_UNREACHABLE) from None
        if response.status_code in (401, 403):
            raise TelephonyUnavailableError(_REFUSED)
        if response.status_code >= 500 and not (allow_500 and response.status_code == 500):
            raise TelephonyUnavailableError("the telephony (Asterisk ARI) failed the request")
        return response

    def _quietly(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        try:
            self._request(method, path, body)
        except TelephonyUnavailableError:
            log.warning("ARI %s %s failed", method, path.split("/")[1])

    def originate(self, spec: CallSpec) -> None:
        """Ring the agent's own phone, showing the campaign's name (never the number).

        Raises:
            TelephonyUnavailableError: ARI unreachable, credentials refused, or a server error.
            AgentPhoneUnavailableError: ARI refused the agent's endpoint (4xx).
        """
        live = _Live(spec)
        self.start(self._sink or (lambda _update: None))
        self._ready()
        with self._lock:
            self._calls[spec.call_id] = live
            self._by_channel[live.agent] = spec.call_id
        body = {
            "endpoint": spec.agent_endpoint,
            "app": self.app,
            "appArgs": f"agent,{spec.call_id}",
            "callerId": _caller_id(spec.display_name),
            "timeout": spec.agent_ring_timeout_s,
            "channelId": live.agent,
        }
        try:  # 500 "Allocation failed": Asterisk could not make the endpoint's channel (unknown, not registered)
            response = self._request("POST", "/channels", body, allow_500=True)
        except TelephonyUnavailableError:
            self._forget(live)
            raise
        if response.status_code >= 400:
            self._forget(live)
            raise AgentPhoneUnavailableError("the PBX refused the agent's phone (not registered or unknown)")
        self._emit(CallUpdate(call_id=spec.call_id, state=CallState.DIALING, agent_channel=live.agent))

    def hangup(self, *, call_id: str) -> None:
        """Hang up both legs of a call (missing legs are fine).

        Raises:
            TelephonyUnavailableError: ARI unreachable.
        """
        with self._lock:
            live = self._calls.get(call_id)
            if live is not None:
                live.hangup_requested = True
        for leg in (f"{call_id}-customer", f"{call_id}-agent"):
            self._request("DELETE", f"/channels/{leg}?reason=normal")

    def follows(self, call_id: str) -> bool:
        """Whether this process placed the call and still follows its events."""
        with self._lock:
            return call_id in self._calls

    def channel_ids(self) -> set[str]:
        """The ids of every channel Asterisk has now (``GET /channels``).

        The answer describes every channel on the PBX, connected-line numbers included; only the
        ids are kept (ours are ``<call id>-agent``/``-customer``) and nothing of it is logged.

        Raises:
            TelephonyUnavailableError: ARI unreachable or refused.
        """
        response = self._request("GET", "/channels")
        if response.status_code != 200:
            raise TelephonyUnavailableError("the telephony (Asterisk ARI) failed the request")
        try:
            return {str(c["id"]) for c in response.json() if isinstance(c, dict) and "id" in c}
        except (ValueError, TypeError):
            raise TelephonyUnavailableError("the telephony (Asterisk ARI) failed the request") from None

    def hangup_leg(self, channel_id: str) -> None:
        """Hang up one leg, quietly (a missing leg or an unreachable ARI is only logged)."""
        self._quietly("DELETE", f"/channels/{channel_id}")

    def drop(self, call_id: str) -> None:
        """Stop following a call that was ended elsewhere (the orphan check)."""
        with self._lock:
            live = self._calls.get(call_id)
            if live is not None:
                live.ended = True
        if live is not None:
            self._forget(live)

    def _forget(self, live: _Live) -> None:
        with self._lock:
            self._calls.pop(live.spec.call_id, None)
            self._by_channel.pop(live.agent, None)
            self._by_channel.pop(live.customer, None)

    def _emit(self, update: CallUpdate) -> None:
        sink = self._sink
        if sink is not None:
            sink(update)

    # -- events --------------------------------------------------------------------
    def _on_message(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
            if event.get("type") == "ApplicationReplaced":
                log.warning("another connection took over the Stasis app %s; its calls' events go there", self.app)
                return
            channel = event.get("channel") or {}
            channel_id = str(channel.get("id", ""))
        except (ValueError, AttributeError):
            return
        with self._lock:
            call_id = self._by_channel.get(channel_id)
            live = self._calls.get(call_id) if call_id else None
        if live is None or live.ended:
            return
        at = _when(event.get("timestamp"))
        kind = event.get("type")
        is_agent = channel_id == live.agent
        try:
            if kind == "StasisStart":
                self._agent_answered(live, at) if is_agent else self._customer_answered(live, at)
            elif kind == "ChannelStateChange" and is_agent and channel.get("state") == "Ringing" and not live.agent_up:
                self._emit(CallUpdate(call_id=live.spec.call_id, state=CallState.AGENT_RINGING, at=at))
            elif kind == "ChannelDestroyed":
                self._leg_ended(live, is_agent=is_agent, cause=_cause(event.get("cause")), at=at)
        except TelephonyUnavailableError:
            self._end(live, CallResult.FAILED, None, utcnow())
        except Exception:  # the listener must outlive one bad event; the log names the call, never a number
            log.exception("ARI event %s of call %s could not be handled", kind, live.spec.call_id)
            self._end(live, CallResult.FAILED, None, utcnow())

    def _agent_answered(self, live: _Live, at: datetime) -> None:
        live.agent_up = True
        app = self.app
        self._emit(CallUpdate(call_id=live.spec.call_id, state=CallState.CUSTOMER_RINGING, at=at))
        self._request("POST", "/bridges", {"type": "mixing", "bridgeId": live.bridge, "name": live.bridge})
        self._request("POST", f"/bridges/{live.bridge}/addChannel", {"channel": live.agent})
        with self._lock:
            self._by_channel[live.customer] = live.spec.call_id
        body: dict[str, Any] = {
            "endpoint": self._settings.trunk_endpoint.format(number=live.spec.number()),
            "app": app,
            "appArgs": f"customer,{live.spec.call_id}",
            "timeout": live.spec.customer_ring_timeout_s,
            "channelId": live.customer,
        }
        if live.spec.caller_id:
            body["callerId"] = _caller_id(live.spec.display_name, live.spec.caller_id)
        response = self._request("POST", "/channels", body)
        del body
        if response.status_code >= 400:
            self._end(live, CallResult.FAILED, None, utcnow())
            return
        live.customer_placed = True
        self._emit(
            CallUpdate(call_id=live.spec.call_id, state=CallState.CUSTOMER_RINGING, customer_channel=live.customer)
        )

    def _customer_answered(self, live: _Live, at: datetime) -> None:
        live.customer_up = True
        self._request("POST", f"/bridges/{live.bridge}/addChannel", {"channel": live.customer})
        shown = {"variable": "CONNECTEDLINE(all)", "value": _caller_id(live.spec.display_name)}
        self._request("POST", f"/channels/{live.agent}/variable", shown)
        self._emit(CallUpdate(call_id=live.spec.call_id, state=CallState.ANSWERED, at=at))

    def _leg_ended(self, live: _Live, *, is_agent: bool, cause: int | None, at: datetime) -> None:
        if live.customer_up:
            result = CallResult.COMPLETED
        elif is_agent and live.agent_up:
            result = CallResult.CANCELLED  # the agent hung up while the customer's phone rang
        elif is_agent:
            result = agent_leg_result(cause, hangup_requested=live.hangup_requested)
        else:
            result = customer_leg_result(cause, hangup_requested=live.hangup_requested)
        self._end(live, result, cause, at)

    def _end(self, live: _Live, result: CallResult, cause: int | None, at: datetime) -> None:
        if live.ended:
            return
        live.ended = True
        self._emit(CallUpdate(call_id=live.spec.call_id, state=CallState.ENDED, result=result, cause=cause, at=at))
        for leg in (live.customer, live.agent):
            self._quietly("DELETE", f"/channels/{leg}")
        if live.agent_up:
            self._quietly("DELETE", f"/bridges/{live.bridge}")
        self._forget(live)


def _cause(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _when(value: object) -> datetime:
    if isinstance(value, str):
        try:
            stamp = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return utcnow()
        return stamp
    return utcnow()

"""An Asterisk ARI test double: a separate HTTP + WebSocket server speaking ARI as documented for Asterisk 20/22.

Run: ``python -m tests.support.ari_double --port N --scenario answered --log requests.jsonl``
(user ``custos``, password ``ari-secret`` unless ``--user``/``--password``).

REST under ``/ari`` with HTTP basic auth (or ``?api_key=user:pass``): ``POST /channels``
(parameters in the query or the JSON body: endpoint, app, appArgs, callerId, timeout,
channelId), ``DELETE /channels/{id}``, ``POST /channels/{id}/variable``, ``POST /bridges``,
``POST /bridges/{id}/addChannel``, ``DELETE /bridges/{id}``; events on the WebSocket
``/ari/events?app=...``: ``ChannelStateChange``, ``StasisStart`` (a leg answered into the
app), ``ChannelEnteredBridge``, ``ChannelHangupRequest``, ``ChannelDestroyed`` (cause,
cause_txt), ``StasisEnd``. Every request received (method, path, query, JSON body) is
appended to the JSONL log before it is answered.

Scenarios (what the far ends do): ``answered`` (both answer; the call lasts until hung up),
``busy``, ``no_answer``, ``customer_hangs_up``, ``agent_hangs_up`` (after answering),
``agent_no_answer``, ``agent_unregistered`` (the agent's endpoint has no registered contact:
Asterisk cannot create the channel and answers the originate 500 "Allocation failed"),
``agent_offline`` (the channel is made, then ends at once with cause 20, subscriber absent),
``agent_unknown`` (400 on originate).

One WebSocket per application, as Asterisk does it: "An application may only be
subscribed to by a single WebSocket at a time. If multiple WebSockets attempt to
subscribe to the same application, the newer WebSocket wins, and the older one
receives this event" (ARI REST data models, ``ApplicationReplaced``,
https://docs.asterisk.org/Latest_API/API_Documentation/Asterisk_REST_Interface/Asterisk_REST_Data_Models/).
In Asterisk's source (``res/stasis/app.c`` ``app_update``; ``res/ari/resource_events.c``
``stasis_app_message_handler`` / ``event_session_shutdown``): the older socket gets
``ApplicationReplaced``, stays open and gets nothing more, and its closing no longer
unregisters the application; when the socket holding the application closes, the
application is deactivated and its events are dropped ("Inactive Stasis app '%s'
missed message") until a socket registers that name again, while its channels stay
in Stasis. Each event the double raises is appended to ``<log>.events.jsonl``
(type, channel id, application, whether a socket received it).

Test controls (no auth, not ARI): ``POST /_double/far-end-hangup/{channel_id}`` ends a
leg as if that phone hung up (cause 16).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SCENARIOS = (
    "answered",
    "busy",
    "no_answer",
    "customer_hangs_up",
    "agent_hangs_up",
    "agent_no_answer",
    "agent_unregistered",
    "agent_offline",
    "agent_unknown",
)
CAUSE_TXT = {16: "Normal Clearing", 17: "User busy", 19: "No answer", 20: "Subscriber absent"}
STEP = 0.15  # seconds between a leg's events


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


@dataclass
class Channel:
    id: str
    name: str
    role: str  # agent or customer, from appArgs
    app: str
    args: list[str]
    caller: dict[str, str]
    state: str = "Down"
    bridge: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": self.caller,
            "connected": {"name": "", "number": ""},
            "accountcode": "",
            "dialplan": {"context": "custos-stasis", "exten": "s", "priority": 1, "app_name": "", "app_data": ""},
            "creationtime": _now(),
            "language": "en",
        }


class Double:
    def __init__(self, scenario: str, log: Path, user: str, password: str) -> None:
        self.scenario = scenario
        self.log = log
        self.credentials = f"{user}:{password}"
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, list[str]] = {}
        self.sockets: dict[str, WebSocket | None] = {}  # the one socket holding each application
        self.seq = itertools.count(1)
        self.events_log = log.with_name(log.name.removesuffix(".jsonl") + ".events.jsonl")

    # -- plumbing ----------------------------------------------------------------------
    def authorised(self, headers: Any, query: Any) -> bool:
        if query.get("api_key") == self.credentials:
            return True
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            return base64.b64decode(value).decode() == self.credentials
        except ValueError:
            return False

    def record(self, entry: dict[str, Any]) -> None:
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    async def emit(self, app: str, event: dict[str, Any]) -> None:
        event = {**event, "timestamp": _now(), "application": app, "asterisk_id": "00:11:22:33:44:55"}
        ws, delivered = self.sockets.get(app), False
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.send_text(json.dumps(event))
                delivered = True
        channel = (event.get("channel") or {}).get("id", "")
        entry = {"type": event["type"], "channel": channel, "app": app, "delivered": delivered}
        with self.events_log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    async def register(self, app: str, ws: WebSocket) -> None:
        """A socket subscribes to ``app``: it takes the application over from any older one."""
        older = self.sockets.get(app)
        self.sockets[app] = ws
        if older is not None:
            with contextlib.suppress(Exception):
                await older.send_text(json.dumps({"type": "ApplicationReplaced", "application": app}))

    def unregister(self, app: str, ws: WebSocket) -> None:
        """A socket closed: the application is deactivated only when this socket held it."""
        if self.sockets.get(app) is ws:
            self.sockets[app] = None

    def later(self, chan: Channel, delay: float, coro: Any) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            await coro

        chan.tasks.append(asyncio.get_running_loop().create_task(run()))

    # -- channel life ------------------------------------------------------------------
    async def set_state(self, chan: Channel, state: str) -> None:
        if chan.id not in self.channels:
            return
        chan.state = state
        await self.emit(chan.app, {"type": "ChannelStateChange", "channel": chan.json()})

    async def answer(self, chan: Channel) -> None:
        if chan.id not in self.channels:
            return
        await self.set_state(chan, "Up")
        await self.emit(chan.app, {"type": "StasisStart", "args": chan.args, "channel": chan.json()})

    async def destroy(self, chan: Channel, cause: int, *, requested: bool = False, soft: bool = False) -> None:
        if self.channels.pop(chan.id, None) is None:
            return
        current = asyncio.current_task()
        for task in chan.tasks:
            if task is not current:
                task.cancel()
        if not requested:
            await self.emit(
                chan.app, {"type": "ChannelHangupRequest", "cause": cause, "soft": soft, "channel": chan.json()}
            )
        if chan.bridge and chan.bridge in self.bridges:
            self.bridges[chan.bridge].remove(chan.id)
            bridge = {"id": chan.bridge, "bridge_type": "mixing", "channels": self.bridges[chan.bridge]}
            await self.emit(chan.app, {"type": "ChannelLeftBridge", "bridge": bridge, "channel": chan.json()})
        if chan.state == "Up":
            await self.emit(chan.app, {"type": "StasisEnd", "channel": chan.json()})
        event = {
            "type": "ChannelDestroyed",
            "cause": cause,
            "cause_txt": CAUSE_TXT.get(cause, "Unknown"),
            "channel": chan.json(),
        }
        await self.emit(chan.app, event)

    def script(self, chan: Channel) -> None:
        s = self.scenario
        if chan.role == "agent":
            if s == "agent_offline":
                self.later(chan, STEP / 3, self.destroy(chan, 20))
                return
            self.later(chan, STEP, self.set_state(chan, "Ringing"))
            if s == "agent_no_answer":
                self.later(chan, 3 * STEP, self.destroy(chan, 19))
                return
            self.later(chan, 2 * STEP, self.answer(chan))
            if s == "agent_hangs_up":
                self.later(chan, 8 * STEP, self.destroy(chan, 16))
            return
        self.later(chan, STEP, self.set_state(chan, "Ringing"))
        if s == "busy":
            self.later(chan, 2 * STEP, self.destroy(chan, 17))
        elif s == "no_answer":
            self.later(chan, 4 * STEP, self.destroy(chan, 19))
        else:
            self.later(chan, 3 * STEP, self.answer(chan))
            if s == "customer_hangs_up":
                self.later(chan, 6 * STEP, self.destroy(chan, 16))


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    body: Any = None
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            return {"__bad_body__": True}
    if isinstance(body, dict):
        params.update({k: v for k, v in body.items() if k != "variables"})
        if "variables" in body:
            params["variables"] = body["variables"]
    return params


def build_app(double: Double) -> Starlette:
    async def guarded(request: Request, params: dict[str, Any]) -> Response | None:
        double.record(
            {
                "method": request.method,
                "path": request.url.path,
                "query": dict(request.query_params),
                "body": params,
            }
        )
        if not double.authorised(request.headers, request.query_params):
            return JSONResponse(
                {"message": "Authentication required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'},
            )
        if params.get("__bad_body__"):
            return JSONResponse({"message": "Failed to parse body"}, status_code=400)
        return None

    async def originate(request: Request) -> Response:
        params = await _params(request)
        if (refused := await guarded(request, params)) is not None:
            return refused
        endpoint = str(params.get("endpoint", ""))
        app = str(params.get("app", ""))
        if "/" not in endpoint or not app:
            return JSONResponse({"message": "Endpoint must be specified"}, status_code=400)
        args = [a for a in str(params.get("appArgs", "")).split(",") if a]
        role = args[0] if args else "agent"
        if role == "agent" and double.scenario == "agent_unknown":
            return JSONResponse({"message": "Endpoint not found"}, status_code=400)
        if role == "agent" and double.scenario == "agent_unregistered":
            return JSONResponse({"message": "Allocation failed"}, status_code=500)
        chan_id = str(params.get("channelId") or f"1700000000.{next(double.seq)}")
        if chan_id in double.channels:
            return JSONResponse({"message": "Channel with given unique ID already exists"}, status_code=409)
        tech, _, resource = endpoint.partition("/")
        device = resource.split("@", 1)[1] if "@" in resource else resource
        caller_name, caller_number = "", ""
        if cid := str(params.get("callerId", "")):
            name, _, rest = cid.partition("<")
            caller_name, caller_number = name.strip().strip('"'), rest.rstrip(">").strip()
        chan = Channel(
            id=chan_id,
            name=f"{tech}/{device}-{next(double.seq):08x}",
            role=role,
            app=app,
            args=args,
            caller={"name": caller_name, "number": caller_number},
        )
        double.channels[chan_id] = chan
        double.script(chan)
        return JSONResponse(chan.json())

    async def hangup(request: Request) -> Response:
        params = await _params(request)
        if (refused := await guarded(request, params)) is not None:
            return refused
        chan = double.channels.get(request.path_params["channel_id"])
        if chan is None:
            return JSONResponse({"message": "Channel not found"}, status_code=404)
        await double.destroy(chan, 16, requested=True)
        return Response(status_code=204)

    async def variable(request: Request) -> Response:
        params = await _params(request)
        if (refused := await guarded(request, params)) is not None:
            return refused
        if request.path_params["channel_id"] not in double.channels:
            return JSONResponse({"message": "Channel not found"}, status_code=404)
        if not params.get("variable"):
            return JSONResponse({"message": "Variable name is required"}, status_code=400)
        return Response(status_code=204)

    async def create_bridge(request: Request) -> Response:
        params = await _params(request)
        if (refused := await guarded(request, params)) is not None:
            return refused
        bridge_id = str(params.get("bridgeId") or f"bridge-{next(double.seq)}")
        double.bridges.setdefault(bridge_id, [])
        return JSONResponse(
            {
                "id": bridge_id,
                "technology": "simple_bridge",
                "bridge_type": "mixing",
                "bridge_class": "stasis",
                "creator": "Stasis",
                "name": str(params.get("name", "")),
                "channels": double.bridges[bridge_id],
                "creationtime": _now(),
                "video_mode": "talker",
            }
        )

    async def add_channel(request: Request) -> Response:
        params = await _params(request)
        if (refused := await guarded(request, params)) is not None:
            return refused
        bridge_id = request.path_params["bridge_id"]
        if bridge_id not in double.bridges:
            return JSONResponse({"message": "Bridge not found"}, status_code=404)
        chan = double.channels.get(str(params.get("channel", "")))
        if chan is None:
            return JSONResponse({"message": "Channel not found"}, status_code=400)
        if chan.state != "Up":
            return JSONResponse({"message": "Channel not in Stasis application"}, status_code=422)
        chan.bridge = bridge_id
        double.bridges[bridge_id].append(chan.id)
        bridge = {"id": bridge_id, "bridge_type": "mixing", "channels": double.bridges[bridge_id]}
        await double.emit(chan.app, {"type": "ChannelEnteredBridge", "bridge": bridge, "channel": chan.json()})
        return Response(status_code=204)

    async def destroy_bridge(request: Request) -> Response:
        params = await _params(request)
        if (refused := await guarded(request, params)) is not None:
            return refused
        if double.bridges.pop(request.path_params["bridge_id"], None) is None:
            return JSONResponse({"message": "Bridge not found"}, status_code=404)
        return Response(status_code=204)

    async def events(ws: WebSocket) -> None:
        app = ws.query_params.get("app", "")
        double.record({"method": "WEBSOCKET", "path": ws.url.path, "query": dict(ws.query_params), "body": {}})
        if not double.authorised(ws.headers, ws.query_params):
            await ws.send_denial_response(JSONResponse({"message": "Authentication required"}, status_code=401))
            return
        if not app:
            await ws.close(code=1008)
            return
        await ws.accept()
        await double.register(app, ws)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            double.unregister(app, ws)

    async def list_channels(request: Request) -> Response:
        if (refused := await guarded(request, {})) is not None:
            return refused
        return JSONResponse([chan.json() for chan in double.channels.values()])

    async def far_end_hangup(request: Request) -> Response:
        chan = double.channels.get(request.path_params["channel_id"])
        if chan is None:
            return JSONResponse({"message": "Channel not found"}, status_code=404)
        await double.destroy(chan, 16)
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/ari/channels", originate, methods=["POST"]),
            Route("/ari/channels", list_channels, methods=["GET"]),
            Route("/_double/far-end-hangup/{channel_id}", far_end_hangup, methods=["POST"]),
            Route("/ari/channels/{channel_id}", hangup, methods=["DELETE"]),
            Route("/ari/channels/{channel_id}/variable", variable, methods=["POST"]),
            Route("/ari/bridges", create_bridge, methods=["POST"]),
            Route("/ari/bridges/{bridge_id}/addChannel", add_channel, methods=["POST"]),
            Route("/ari/bridges/{bridge_id}", destroy_bridge, methods=["DELETE"]),
            WebSocketRoute("/ari/events", events),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scenario", choices=SCENARIOS, default="answered")
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--user", default="custos")
    parser.add_argument("--password", default="ari-secret")
    args = parser.parse_args()
    double = Double(args.scenario, args.log, args.user, args.password)
    uvicorn.run(build_app(double), host="127.0.0.1", port=args.port, log_level="warning", ws="websockets-sansio")


if __name__ == "__main__":
    main()

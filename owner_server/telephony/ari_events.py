"""The ARI events WebSocket (``/ari/events?app=<app>``), kept connected on a worker thread.

Asterisk sends every event of the app's channels as one JSON text message
(``StasisStart``, ``ChannelStateChange``, ``ChannelDestroyed`` ...). The
listener reconnects after a second when the connection drops and remembers
whether the last attempt was refused (401/403), so a dial request can say
"credentials refused" rather than "unreachable".
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from owner_server.telephony.settings import AriSettings
from owner_server.telephony.worker import WorkerThread

__all__ = ["EventListener"]

RECONNECT_S = 1.0
MAX_MESSAGE_BYTES = 1 << 20


class EventListener:
    """Keeps one events WebSocket open and hands each message to ``on_message`` (on its own thread).

    Args:
        settings: The ARI connection.
        secret: The ARI password.
        on_message: Called with each text message, on the listener's thread.
        app: The Stasis application to register (default ``settings.app``).
    """

    def __init__(
        self, settings: AriSettings, secret: str, on_message: Callable[[str | bytes], None], *, app: str = ""
    ) -> None:
        self._settings = settings
        self.app = app or settings.app
        self._auth = "Basic " + base64.b64encode(f"{settings.user}:{secret}".encode()).decode()
        self._on_message = on_message
        self._connected = threading.Event()
        self.refused = False
        self._ws: ClientConnection | None = None
        self._worker = WorkerThread(self._run, name="telephony-ari")

    @property
    def url(self) -> str:
        """The WebSocket URL (no credentials in it; they go in the ``Authorization`` header)."""
        base = self._settings.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/ari/events?app={self.app}&subscribeAll=false"

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        self._worker.start()

    def stop(self) -> None:
        """Close the connection and end the thread."""
        self._worker.stop(wake=self._close)

    def _close(self) -> None:
        ws = self._ws
        if ws is not None:
            ws.close()

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait until the WebSocket is open; False when it did not open in time."""
        return self._connected.wait(timeout=timeout_s)

    def _run(self) -> None:
        while not self._worker.stopping.is_set():
            try:
                with connect(
                    self.url,
                    additional_headers={"Authorization": self._auth},
                    open_timeout=self._settings.request_timeout_s,
                    max_size=MAX_MESSAGE_BYTES,
                ) as ws:
                    self._ws, self.refused = ws, False
                    self._connected.set()
                    for message in ws:
                        self._on_message(message)
            except InvalidStatus as exc:
                self.refused = exc.response.status_code in (401, 403)
            except (OSError, WebSocketException, TimeoutError):
                pass
            finally:
                self._ws = None
                self._connected.clear()
            self._worker.stopping.wait(RECONNECT_S)

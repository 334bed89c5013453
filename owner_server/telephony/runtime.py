"""The running server's telephony: the configured provider, the sink that stores its updates, the orphan check."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine
from sqlmodel import Session

from owner_server.telephony.orphans import OrphanCheck
from owner_server.telephony.provider import CallSpec, CallUpdate, Provider, TelephonyUnavailableError
from owner_server.telephony.settings import TelephonySettings
from owner_server.telephony.store import apply_update

__all__ = ["Telephony", "build_provider"]

log = logging.getLogger("custos.telephony")


def build_provider(settings: TelephonySettings) -> Provider | None:
    """The provider ``telephony.toml`` names (None for ``none``).

    Raises:
        ValidationError: The ARI password cannot be read.
    """
    if settings.provider == "ari":
        from owner_server.telephony.ari import AriProvider

        assert settings.ari is not None
        return AriProvider(settings.ari)
    if settings.provider == "simulated":
        from owner_server.telephony.simulated import SimulatedProvider

        return SimulatedProvider(settings.simulated)
    return None


class Telephony:
    """The provider in force and where its call updates go (the database, one transaction each).

    Args:
        settings: ``telephony.toml``.
        engine: The server's engine.
        provider: The provider (built from ``settings`` when not given; None means dialling is refused).
    """

    def __init__(self, settings: TelephonySettings, engine: Engine, provider: Provider | None = None) -> None:
        self.settings = settings
        self._engine = engine
        self._provider = provider if provider is not None else build_provider(settings)
        self._started = False
        self._lock = threading.Lock()
        self._orphans: OrphanCheck | None = None

    @property
    def name(self) -> str:
        """``ari``, ``simulated`` or ``none``."""
        return self._provider.name if self._provider is not None else "none"

    def _ready(self) -> Provider:
        if self._provider is None:
            raise TelephonyUnavailableError("no telephony is configured on this server (telephony.toml)")
        with self._lock:
            if not self._started:
                self._provider.start(self.store)
                self._started = True
        return self._provider

    def start_background(self) -> None:
        """With ARI: connect the events WebSocket now and start the orphan check (:mod:`.orphans`; idempotent).

        Other providers start at the first call.
        """
        from owner_server.telephony.ari import AriProvider

        if not isinstance(self._provider, AriProvider) or self.settings.ari is None:
            return
        self._ready()
        with self._lock:
            if self._orphans is None:
                interval = self.settings.ari.orphan_check_s
                self._orphans = OrphanCheck(self._engine, self._provider, self.store, interval_s=interval)
                self._orphans.start()

    def originate(self, spec: CallSpec) -> None:
        """Place a call (see :meth:`Provider.originate`)."""
        self._ready().originate(spec)

    def hangup(self, *, call_id: str) -> None:
        """End a call (see :meth:`Provider.hangup`)."""
        self._ready().hangup(call_id=call_id)

    def store(self, update: CallUpdate) -> None:
        """Store one update in its own transaction (called from the provider's thread; never raises)."""
        try:
            with Session(self._engine, expire_on_commit=False) as session:
                apply_update(session, update=update)
                session.commit()
        except Exception:  # a provider thread must survive one bad update; the log holds no number
            log.exception("could not store a call update (call %s, state %s)", update.call_id, update.state)

    def stop(self) -> None:
        """Stop the orphan check and the provider."""
        with self._lock:
            if self._orphans is not None:
                self._orphans.stop()
                self._orphans = None
            if self._provider is not None and self._started:
                self._provider.stop()
            self._started = False

"""Wire model of the client's reports about itself (``/api/v1/agent/client-report``).

Display events (:mod:`shared.protocol`) belong to a lease; these belong to
the login session: the client's accessibility setting, sent after each
login, and the operating system refusing to exclude a window from capture.
Both are audited by the server; neither carries personal data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, StringConstraints, model_validator

from shared.protocol import WireModel

__all__ = ["ClientReport", "ClientReportKind", "ClientReportResult"]

WindowName = Annotated[str, StringConstraints(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_.:-]+$")]


class ClientReportKind(StrEnum):
    """What the client reports about itself (the audit action of the report)."""

    CLIENT_SETTINGS = "client_settings"
    """The client's settings that change what it exposes (``screen_reader_mode``)."""
    CAPTURE_EXCLUSION_REFUSED = "capture_exclusion_refused"
    """The OS refused to leave a window out of screenshots (``window`` names its class)."""


class ClientReport(WireModel):
    """One report; ``screen_reader_mode`` comes with ``client_settings`` only, ``window`` with a refusal only.

    Raises:
        pydantic.ValidationError: A field that does not belong to the kind, or a missing one.
    """

    kind: ClientReportKind
    occurred_at: AwareDatetime
    screen_reader_mode: bool | None = None
    window: WindowName | None = None

    @model_validator(mode="after")
    def _fields_match_kind(self) -> ClientReport:
        settings = self.kind is ClientReportKind.CLIENT_SETTINGS
        if settings != (self.screen_reader_mode is not None):
            raise ValueError("screen_reader_mode comes with client_settings and only there")
        if settings == (self.window is not None):
            raise ValueError("window comes with capture_exclusion_refused and only there")
        return self


class ClientReportResult(WireModel):
    """Whether the report was audited (False: the session's cap on reports was reached)."""

    audited: bool

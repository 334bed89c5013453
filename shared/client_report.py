"""Wire model of the client's reports about itself (``/api/v1/agent/client-report``).

Display events (:mod:`shared.protocol`) belong to a lease; these belong to
the login session: the client's accessibility setting, sent after each
login, and the operating system refusing to exclude a window from capture.
Both are audited by the server; neither carries personal data.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, StrictBool, StrictInt, model_validator

from shared.protocol import WireModel

__all__ = ["ClientReport", "ClientReportKind", "ClientReportResult", "ClientWindow", "client_window"]


class ClientWindow(StrEnum):
    """The class names of the client's own top-level windows (``type(widget).__name__``), a closed set.

    Qt's internal popups show up under their nearest Python-wrapped class
    (a combo box list as ``QFrame``, a tooltip as ``QLabel``, a date edit's
    calendar as ``QCalendarWidget`` or ``QWidget``). Anything else is sent as
    ``other``, so no free text reaches the audit log.
    """

    RECORD_WINDOW = "RecordWindow"
    LOGIN_WINDOW = "LoginWindow"
    ENROLMENT_DIALOG = "EnrolmentDialog"
    CALLBACK_DIALOG = "CallbackDialog"
    Q_MESSAGE_BOX = "QMessageBox"
    Q_DIALOG = "QDialog"
    Q_FILE_DIALOG = "QFileDialog"
    Q_MENU = "QMenu"
    Q_FRAME = "QFrame"
    Q_LABEL = "QLabel"
    Q_CALENDAR_WIDGET = "QCalendarWidget"
    Q_WIDGET = "QWidget"
    OTHER = "other"


def client_window(class_name: str) -> ClientWindow:
    """Map a top-level widget's class name to :class:`ClientWindow` (unknown names: ``other``)."""
    try:
        return ClientWindow(class_name)
    except ValueError:
        return ClientWindow.OTHER


class ClientReportKind(StrEnum):
    """What the client reports about itself (the audit action of the report)."""

    CLIENT_SETTINGS = "client_settings"
    """The client's settings that change what it exposes (``screen_reader_mode``, ``idle_lock_minutes``,
    ``update_check``, ``provisioned``)."""
    CAPTURE_EXCLUSION_REFUSED = "capture_exclusion_refused"
    """The OS refused to leave a window out of screenshots (``window`` names its class)."""


class ClientReport(WireModel):
    """One report; the settings come with ``client_settings`` only, ``window`` with a refusal only.

    ``screen_reader_mode`` is required with ``client_settings``; ``idle_lock_minutes``
    (1..120), ``update_check`` and ``provisioned`` (the config came from the
    machine-wide provisioned location) are optional there, so older clients
    still report. Booleans are strict (``"yes"`` is refused).

    Raises:
        pydantic.ValidationError: A field that does not belong to the kind, or a missing one.
    """

    kind: ClientReportKind
    occurred_at: AwareDatetime
    screen_reader_mode: StrictBool | None = None
    idle_lock_minutes: Annotated[StrictInt, Field(ge=1, le=120)] | None = None
    update_check: StrictBool | None = None
    provisioned: StrictBool | None = None
    window: ClientWindow | None = None

    @model_validator(mode="after")
    def _fields_match_kind(self) -> ClientReport:
        settings = self.kind is ClientReportKind.CLIENT_SETTINGS
        if settings != (self.screen_reader_mode is not None):
            raise ValueError("screen_reader_mode comes with client_settings and only there")
        if not settings and (self.idle_lock_minutes, self.update_check, self.provisioned) != (None, None, None):
            raise ValueError("the settings come with client_settings and only there")
        if settings == (self.window is not None):
            raise ValueError("window comes with capture_exclusion_refused and only there")
        return self


class ClientReportResult(WireModel):
    """Whether the report was audited (False: the agent's hourly cap on reports was reached)."""

    audited: bool

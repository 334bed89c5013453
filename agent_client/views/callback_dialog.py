"""The callback picker: a date and time in the campaign's time zone, for "me" or "anyone"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QTime
from PySide6.QtWidgets import (
    QButtonGroup,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QRadioButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from shared.strategy import CallbackFor

__all__ = ["MAX_CALLBACK_DAYS", "CallbackDialog", "default_callback_time"]

#: Furthest ahead the picker offers (the server checks the campaign's own limit).
MAX_CALLBACK_DAYS = 30
_STEP_MINUTES = 15


def _utc_now() -> datetime:
    return datetime.now(UTC)


def default_callback_time(now: datetime, zone: ZoneInfo) -> datetime:
    """One hour from ``now``, rounded up to the next quarter hour, in ``zone``.

    Args:
        now: The current time (aware).
        zone: The campaign's time zone.

    Returns:
        An aware local time in ``zone``.
    """
    local = (now + timedelta(hours=1)).astimezone(zone).replace(second=0, microsecond=0)
    extra = (-local.minute) % _STEP_MINUTES
    return local + timedelta(minutes=extra)


class CallbackDialog(QDialog):
    """Asks when to call back (campaign time zone) and for whom.

    Args:
        timezone: The campaign's IANA time zone (``RecordView.timezone``).
        clock: The current aware time (injected for tests).
        parent: Qt parent.
    """

    def __init__(
        self, timezone: str, *, clock: Callable[[], datetime] = _utc_now, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._zone = ZoneInfo(timezone)
        self._clock = clock
        self.setWindowTitle(self.tr("Call back"))
        start = default_callback_time(clock(), self._zone)
        today = clock().astimezone(self._zone).date()
        self.date_edit = QDateEdit(QDate(start.year, start.month, start.day))
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        self.date_edit.setDateRange(_qdate(today), _qdate(today + timedelta(days=MAX_CALLBACK_DAYS)))
        self.time_edit = QTimeEdit(QTime(start.hour, start.minute))
        self.time_edit.setDisplayFormat("HH:mm")
        self.me_button = QRadioButton(self.tr("Me"))
        self.anyone_button = QRadioButton(self.tr("Anyone"))
        self.me_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.me_button)
        group.addButton(self.anyone_button)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        zone_note = QLabel(self.tr("Time in {zone}").format(zone=timezone))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("Date"), self.date_edit)
        form.addRow(self.tr("Time"), self.time_edit)
        form.addRow(self.tr("For"), self.me_button)
        form.addRow("", self.anyone_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(zone_note)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)

    def chosen_time(self) -> datetime:
        """The picked wall-clock time in the campaign's zone, as an aware datetime."""
        day = self.date_edit.date()
        at = self.time_edit.time()
        return datetime(day.year(), day.month(), day.day(), at.hour(), at.minute(), tzinfo=self._zone)

    def chosen_for(self) -> CallbackFor:
        """Who the callback is owed to."""
        return CallbackFor.ME if self.me_button.isChecked() else CallbackFor.ANYONE

    def _on_ok(self) -> None:
        if self.chosen_time() <= self._clock():
            self.message_label.setText(self.tr("Choose a time in the future."))
            return
        self.accept()


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)

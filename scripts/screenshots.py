"""Render the agent's record window in each state to PNG files, for a look by eye.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py OUT_DIR [--lang pl]

Uses made-up records (no server); each state is one PNG named after it.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from agent_client.errors import ApiError  # noqa: E402
from agent_client.messages import error_message, limit_message, user_message  # noqa: E402
from agent_client.translations import install_translators  # noqa: E402
from agent_client.views.login_window import LoginWindow  # noqa: E402
from agent_client.views.record_window import RecordWindow  # noqa: E402
from shared.calls import CallView, VerifyResponse  # noqa: E402
from shared.errors import ErrorCode  # noqa: E402
from shared.protocol import (  # noqa: E402
    DispositionOption,
    FieldView,
    IdleReason,
    QuotaView,
    RecordView,
    VerifyFieldView,
)

NOW = datetime.now(UTC)


def record() -> RecordView:
    """A made-up record with every kind of field (visible, masked, verify_only, after_answer)."""
    return RecordView(
        lease_id="lease-1",
        contact_ref="c-1",
        campaign="Jesienna oferta / Autumn offer",
        script="Dzień dobry, dzwonię w imieniu Custos Telecom w sprawie nowej oferty.",
        fields=(
            FieldView(name="first_name", label="Imię / First name", value="Zofia"),
            FieldView(name="last_name", label="Nazwisko / Surname", value="K••••••", masked=True),
            FieldView(name="city", label="Miasto / City", value="Gdańsk"),
        ),
        phone_mask="••• ••• •••",
        dispositions=(
            DispositionOption(code="sale", label="Sprzedaż / Sale", shortcut="F1"),
            DispositionOption(code="not_interested", label="Brak zainteresowania", shortcut="F2"),
            DispositionOption(code="callback", label="Oddzwonić / Call back", shortcut="F3"),
            DispositionOption(code="no_answer", label="Nie odbiera / No answer", shortcut="F4"),
        ),
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=30),
        verify_fields=(VerifyFieldView(name="birth_date", label="Data urodzenia / Date of birth"),),
        after_answer_fields=1,
        callback_code="callback",
    )


def call(state: str, **extra: object) -> CallView:
    """A call of the made-up record in ``state``."""
    return CallView(call_id="call-1", lease_id="lease-1", state=state, created_at=NOW, **extra)


def main() -> int:
    """Render each state; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", default="en", choices=("en", "pl"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    install_translators(app, args.lang)
    window = RecordWindow("anna.k", "Custos Telecom", app.clipboard())
    window.resize(760, 640)
    window.show()
    window.show_quota(QuotaView(issued_hour=12, per_hour=60, issued_day=85, per_day=480))

    def snap(name: str) -> None:
        app.processEvents()
        window.grab().save(str(args.out / f"{args.lang}-{name}.png"))

    window.show_waiting()
    snap("01-waiting")
    window.show_idle(IdleReason.OUTSIDE_CALLING_HOURS, poll_after_s=300)
    snap("02-outside-calling-hours")
    window.show_idle(IdleReason.NO_CONTACTS, poll_after_s=30)
    snap("02b-no-contacts")
    window.set_busy(user_message("network"))
    snap("02c-server-unreachable")
    window.set_busy(user_message(ErrorCode.ACCOUNT_SUSPENDED))
    snap("02d-suspended")
    quota = QuotaView(issued_hour=60, per_hour=60, issued_day=300, per_day=480)
    window.show_limit_reached(limit_message(quota, NOW + timedelta(minutes=20)), 10**9)
    snap("03-limit-reached")
    window.show_pending(1, 3)
    snap("04-pending")
    window.show_record(record())
    snap("05-record-preview")
    window.show_call_refused(user_message(ErrorCode.AGENT_PHONE_UNAVAILABLE))
    snap("05b-refused-agent-phone")
    window.show_call_refused(user_message(ErrorCode.OUTSIDE_CALLING_HOURS))
    snap("05c-refused-outside-hours")
    window.show_call(call("dialing"))
    snap("05d-dialing")
    window.show_call(call("agent_ringing"))
    snap("06-agent-ringing")
    window.show_call(call("customer_ringing"))
    snap("06b-customer-ringing")
    pesel = FieldView(name="pesel", label="PESEL", value="90013112345")
    window.show_call(call("answered", answered_at=NOW, fields=(pesel,)))
    snap("07-connected-after-answer-field")
    panel = window.panel
    assert panel is not None
    if panel.verify_panel is not None:
        window.show_verify_result(VerifyResponse(field="birth_date", match=False, tries_left=2))
        snap("07b-verify-no-match")
    panel.outcome_panel.notes_edit.setPlainText("Oddzwonić na 600 700 800 po 18")
    snap("07c-notes-with-a-number")
    panel.outcome_panel.notes_edit.setPlainText("Klientka prosi o ofertę na piśmie.")
    window.show_call(call("ended", result="completed", talk_s=83))
    snap("08-ended-outcomes-enabled")
    window.show_record(record().model_copy(update={"lease_id": "lease-2"}))
    window.show_call(call("ended", result="busy").model_copy(update={"lease_id": "lease-2"}))
    snap("09-ended-busy")
    window.show_record(record().model_copy(update={"lease_id": "lease-3"}))
    panel = window.panel
    assert panel is not None
    box = panel.call_panel.no_call_box
    box.setCurrentIndex(1)
    box.activated.emit(1)
    snap("09b-no-call-reason")
    window.show_record(record().model_copy(update={"lease_id": "lease-2"}))
    window.show_call(call("ended", result="busy").model_copy(update={"lease_id": "lease-2"}))
    panel = window.panel
    assert panel is not None
    panel.outcome_panel.buttons["callback"].click()
    app.processEvents()
    if panel.callback_dialog is not None:
        panel.callback_dialog.grab().save(str(args.out / f"{args.lang}-10-callback-picker.png"))
        panel.callback_dialog.reject()
    login = LoginWindow("Custos Telecom", "anna.k")
    login.show()
    refusals = {
        "locked": ApiError(ErrorCode.ACCOUNT_LOCKED, "x", status=403, retry_at=NOW + timedelta(minutes=15)),
        "suspended": ApiError(ErrorCode.ACCOUNT_SUSPENDED, "x", status=403),
        "address": ApiError(ErrorCode.ADDRESS_NOT_ALLOWED, "x", status=403),
    }
    for name, refusal in refusals.items():
        login.show_error(error_message(refusal))
        app.processEvents()
        login.grab().save(str(args.out / f"{args.lang}-11-login-{name}.png"))
    print(f"screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

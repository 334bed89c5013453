"""Child process of test_atspi.py: the real RecordWindow with a record, on X11 with Qt's AT-SPI bridge on.

``python -m tests.agent_client.atspi_probe [--screen-reader]`` shows a record
(the after_answer field answered, a typed note and value to verify), prints
``ready`` and serves the a11y bus until stdin closes.
"""

import sys
from datetime import UTC, datetime

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication

from agent_client.views.accessibility import set_screen_reader_mode
from agent_client.views.record_window import RecordWindow
from shared.calls import CallView
from shared.protocol import FieldView, VerifyFieldView
from tests.agent_client.agent_fakes import make_record

NOW = datetime(2026, 12, 1, 13, 7, tzinfo=UTC)
AFTER_ANSWER = FieldView(name="pesel", label="PESEL", value="90013112345")
TYPED_NOTE = "Note about Friday 7788"
TYPED_VERIFY = "31.01.1990"


def main() -> int:
    set_screen_reader_mode("--screen-reader" in sys.argv)
    app = QApplication(sys.argv[:1])
    window = RecordWindow("agent.one", "Demo Telecom", app.clipboard(), utc_clock=lambda: NOW)
    window.show()
    record = make_record().model_copy(
        update={"after_answer_fields": 1, "verify_fields": (VerifyFieldView(name="birth", label="Date of birth"),)}
    )
    window.show_record(record)
    window.show_call(
        CallView(call_id="c1", lease_id="lease-1", state="answered", created_at=NOW, fields=(AFTER_ANSWER,))
    )
    assert window.panel is not None
    window.panel.outcome_panel.notes_edit.setPlainText(TYPED_NOTE)
    assert window.panel.verify_panel is not None
    window.panel.verify_panel.edits["birth"].setText(TYPED_VERIFY)
    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(app.quit)
    print("ready", flush=True)  # noqa: T201 - the parent waits for it
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())

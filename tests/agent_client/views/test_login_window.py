from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt

from agent_client.errors import ApiError
from agent_client.messages import error_message
from agent_client.translations import install_translators
from agent_client.views.login_window import LoginWindow
from shared.errors import ErrorCode


def test_enter_submits_login_and_password(qtbot):
    window = LoginWindow("Demo Telecom", "agent.one")
    qtbot.addWidget(window)
    qtbot.keyClicks(window.password_edit, "secret")
    with qtbot.waitSignal(window.login_submitted) as submitted:
        qtbot.keyClick(window.password_edit, Qt.Key.Key_Return)
    assert submitted.args == ["agent.one", "secret"]
    assert not window.submit_button.isEnabled()


def test_empty_password_is_not_submitted(qtbot):
    window = LoginWindow("Demo Telecom", "agent.one")
    qtbot.addWidget(window)
    with qtbot.assertNotEmitted(window.login_submitted):
        qtbot.keyClick(window.password_edit, Qt.Key.Key_Return)


def test_error_clears_password(qtbot):
    window = LoginWindow("Demo Telecom", "agent.one")
    qtbot.addWidget(window)
    window.password_edit.setText("secret")
    window.show_error("Wrong login or password.")
    assert window.password_edit.text() == ""
    assert window.submit_button.isEnabled()


def fully_visible(window):
    label = window.message_label
    window.layout().activate()
    inside = window.rect().contains(label.geometry())
    return label.isVisible() and inside and label.height() >= label.heightForWidth(label.width())


LOGIN_REFUSALS = [
    ApiError(ErrorCode.ACCOUNT_LOCKED, "x", status=403, retry_at=datetime.now(UTC) + timedelta(minutes=15)),
    ApiError(ErrorCode.ADDRESS_NOT_ALLOWED, "x", status=403),
    ApiError(ErrorCode.ACCOUNT_SUSPENDED, "x", status=403),
]


@pytest.mark.parametrize("language", ["en", "pl"])
@pytest.mark.parametrize("error", LOGIN_REFUSALS, ids=lambda e: str(e.code))
@pytest.mark.parametrize("shown_first", [True, False])
def test_login_refusals_fit_the_window(qtbot, qapp, language, error, shown_first):
    installed = install_translators(qapp, language)
    try:
        message = error_message(error)
        window = LoginWindow("Demo Telecom", "agent.one")
        qtbot.addWidget(window)
        if shown_first:
            window.show()
            qtbot.waitExposed(window)
            window.show_error(message)
        else:
            window.show_error(message)
            window.show()
            qtbot.waitExposed(window)
        assert window.message_label.text() == message
        qtbot.waitUntil(lambda: fully_visible(window))
        assert window.message_label.wordWrap()
    finally:
        for translator in installed:
            qapp.removeTranslator(translator)

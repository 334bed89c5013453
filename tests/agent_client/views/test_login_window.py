from PySide6.QtCore import Qt

from agent_client.views.login_window import LoginWindow


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

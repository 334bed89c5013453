"""The watermark: lease and QR over the record area, and a mark on every top-level window and dialog."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
import zxingcpp
from PySide6.QtCore import QCoreApplication, QEvent, QRect
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QMenu, QMessageBox, QWidget

from agent_client.views.callback_dialog import CallbackDialog
from agent_client.views.record_window import RecordWindow
from agent_client.views.watermark import MODULE_PX, WatermarkOverlay
from agent_client.views.window_marks import WindowWatermarks
from shared.protocol import b64encode
from tests.agent_client.agent_fakes import make_record

TOKEN = os.urandom(89)
NOW = datetime(2024, 5, 1, 9, 30)


@pytest.fixture
def window(qtbot, qapp):
    widget = RecordWindow("agent.one", "Demo Telecom", qapp.clipboard(), clock=lambda: NOW)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _record(lease_id="lease-1", token=TOKEN):
    return make_record(lease_id).model_copy(update={"watermark_code": b64encode(token) if token else None})


def _codes(image) -> list[bytes]:
    """QR payloads in a grabbed QImage (zxing-cpp reads QImage directly)."""
    return [bytes(c.bytes) for c in zxingcpp.read_barcodes(image.convertToFormat(image.Format.Format_Grayscale8))]


def test_the_record_area_names_the_lease_and_draws_a_qr_that_decodes(window):
    window.show_record(_record())
    assert window.watermark_text == "agent.one · lease-1 · 2024-05-01 09:30"
    shot = window.grab().toImage()
    assert _codes(shot) == [TOKEN]
    half = shot.scaled(shot.width() // 2, shot.height() // 2)
    assert _codes(half) == [TOKEN]
    # 41 modules and a 4-module quiet zone a side, MODULE_PX pixels each
    assert window.watermark.code_side() == (41 + 8) * MODULE_PX


def test_the_qr_keeps_a_corner_of_its_own(window, qtbot):
    window.show_record(_record())
    qtbot.waitUntil(lambda: window.panel is not None and window.panel.isVisible())
    rect = window.watermark.code_rect()
    assert rect is not None
    for label in window.panel.findChildren(QLabel):
        if label.isVisible():
            at = QRect(label.mapTo(window.watermark.parentWidget(), label.rect().topLeft()), label.size())
            assert not at.intersects(rect), label.text()


def test_without_a_record_or_a_code_there_is_no_qr(window, qtbot):
    window.show_record(_record(token=None))
    assert window.watermark.code_rect() is None and window.watermark.lease_ref == "lease-1"
    assert _codes(window.grab().toImage()) == []
    window.show_record(_record("lease-2"))
    with qtbot.waitSignal(window.record_hidden):
        window.show_waiting()
    assert window.watermark.code_rect() is None
    assert window.watermark_text == "agent.one · 2024-05-01 09:30"
    assert _codes(window.grab().toImage()) == []


@pytest.fixture
def marks(qapp):
    lease = {"ref": "lease-9"}
    watcher = WindowWatermarks("agent.one", lambda: lease["ref"], clock=lambda: NOW)
    watcher.install(qapp)
    yield watcher
    watcher.uninstall()


def _on_top(overlay: WatermarkOverlay, window: QWidget) -> bool:
    siblings = [c for c in window.children() if isinstance(c, QWidget)]
    return siblings[-1] is overlay and overlay.geometry() == window.rect() and overlay.isVisible()


def test_a_message_box_is_marked_with_agent_lease_and_time(qtbot, marks):
    box = QMessageBox(QMessageBox.Icon.Information, "Custos", "Saved")
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    overlay = marks.overlay_of(box)
    assert overlay is not None and _on_top(overlay, box)
    assert overlay.text() == "agent.one · lease-9 · 2024-05-01 09:30"
    assert overlay.code_rect() is None  # dialogs name the lease in text; the QR is the record area's
    late = QLabel("added later", box)
    late.show()
    assert _on_top(overlay, box)


def test_the_callback_dialog_is_marked_and_stays_usable(qtbot, marks, window):
    window.show_record(_record())
    dialog = CallbackDialog("Europe/Warsaw", parent=window.panel)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    overlay = marks.overlay_of(dialog)
    assert overlay is not None and _on_top(overlay, dialog)
    ok = dialog.findChildren(QDialogButtonBox)[0].button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.childAt(ok.mapTo(dialog, ok.rect().center())) is ok  # clicks go through the mark
    assert marks.overlay_of(window) is None  # the record window marks its record area itself
    assert len(window.findChildren(WatermarkOverlay)) == 2  # its own, and the dialog's


def test_popups_are_not_windows_to_mark(qtbot, marks):
    menu = QMenu()
    qtbot.addWidget(menu)
    menu.addAction("x")
    menu.popup(menu.pos())
    qtbot.waitUntil(menu.isVisible)
    assert marks.overlay_of(menu) is None


def test_uninstall_takes_the_marks_off_and_stops_marking(qtbot, qapp):
    watcher = WindowWatermarks("agent.one", lambda: None, clock=lambda: NOW)
    watcher.install(qapp)
    first = QMessageBox(QMessageBox.Icon.Information, "Custos", "one")
    qtbot.addWidget(first)
    first.show()
    assert watcher.overlay_of(first) is not None
    assert watcher.overlay_of(first).text() == "agent.one · 2024-05-01 09:30"
    watcher.uninstall()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert not first.findChildren(WatermarkOverlay)
    second = QMessageBox(QMessageBox.Icon.Information, "Custos", "two")
    qtbot.addWidget(second)
    second.show()
    assert not second.findChildren(WatermarkOverlay)

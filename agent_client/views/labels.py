"""Labels a record's text can sit in without being selected, dragged or read out by value."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from agent_client.views.accessibility import LockedLabel

__all__ = ["locked_label"]


def locked_label(text: str, accessible_name: str) -> QLabel:
    """A plain-text label that cannot be selected, dragged, focused or context-clicked.

    Accessibility clients read ``accessible_name`` (never ``text``) unless the
    deployment's screen-reader mode is on (:mod:`agent_client.views.accessibility`).
    """
    label = LockedLabel(accessible_name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    label.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
    label.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    label.setAccessibleName(accessible_name)
    return label

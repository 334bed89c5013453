"""The user-interface language (English or Polish), chosen once at start.

English is the source language of every string; Polish comes from the compiled
catalogue ``agent_client/i18n/custos_pl.qm`` (regenerate it with
``scripts/i18n.sh``). A missing or unreadable catalogue leaves the client in
English rather than stopping it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

__all__ = ["I18N_DIR", "LANGUAGES", "install_translators", "system_language"]

log = logging.getLogger(__name__)

#: The languages ``--lang`` accepts; the first is the source language.
LANGUAGES = ("en", "pl")
#: Where the compiled catalogues ``custos_<lang>.qm`` are shipped.
I18N_DIR = Path(__file__).resolve().parent / "i18n"


def system_language(locale: QLocale | None = None) -> str:
    """The language to use when none was asked for: Polish on a Polish locale, else English.

    Args:
        locale: The locale to judge; :meth:`QLocale.system` if None.
    """
    locale = locale if locale is not None else QLocale.system()
    return "pl" if locale.language() == QLocale.Language.Polish else "en"


def install_translators(app: QCoreApplication, language: str, directory: Path = I18N_DIR) -> list[QTranslator]:
    """Install the catalogues of ``language`` into ``app``; call before building any window.

    Besides Custos' own catalogue, Qt's (``qtbase_<lang>.qm``, for the buttons
    of standard dialogs) is loaded when PySide6 ships it.

    Args:
        app: The application; it becomes the translators' parent.
        language: One of :data:`LANGUAGES`.
        directory: Where ``custos_<lang>.qm`` lives (tests point it elsewhere).

    Returns:
        The installed translators (none for English or when nothing loaded).
    """
    if language == LANGUAGES[0]:
        return []
    installed: list[QTranslator] = []
    ours = QTranslator(app)
    if ours.load(f"custos_{language}", str(directory)):
        app.installTranslator(ours)
        installed.append(ours)
    else:
        log.warning("no %s translation in %s; the client stays in English", language, directory)
        return installed
    qt = QTranslator(app)
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt.load(QLocale(language), "qtbase", "_", qt_dir):
        app.installTranslator(qt)
        installed.append(qt)
    return installed

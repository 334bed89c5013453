"""The Polish catalogue is complete and compiled, and the chosen language reaches the windows."""

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale

from agent_client.translations import I18N_DIR, install_translators, system_language
from agent_client.views.login_window import LoginWindow

REPO = Path(__file__).resolve().parents[2]
TS = I18N_DIR / "custos_pl.ts"
QM = I18N_DIR / "custos_pl.qm"
TOOLS = Path(sys.executable).parent
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%L?\d+|%n|\[[^\]]*\]|\(\*\.[a-z]+\)")


def tool(name):
    path = TOOLS / name
    return str(path) if path.exists() else shutil.which(name) or pytest.fail(f"{name} not found (PySide6-Essentials)")


def messages(ts_path):
    root = ET.parse(ts_path).getroot()  # noqa: S314 - our own file
    for context in root.iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            yield name, message.findtext("source"), message.find("translation")


def test_every_string_is_translated():
    found = list(messages(TS))
    assert len(found) > 40
    for context, source, translation in found:
        assert translation is not None, (context, source)
        assert translation.get("type") is None, (context, source, translation.get("type"))
        assert (translation.text or "").strip(), (context, source)


def test_placeholders_and_shortcuts_are_kept():
    for context, source, translation in messages(TS):
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translation.text)), (context, source)
        assert source.endswith("…") == translation.text.endswith("…"), (context, source)


def test_a_fresh_lupdate_finds_no_new_or_vanished_string(tmp_path):
    fresh = tmp_path / "custos_pl.ts"
    shutil.copy(TS, fresh)
    sources = sorted(str(path.relative_to(REPO)) for path in (REPO / "agent_client").rglob("*.py"))
    subprocess.run(
        [tool("pyside6-lupdate"), "-silent", "-no-obsolete", "-locations", "none", *sources, "-ts", str(fresh)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    untranslated = [(c, s) for c, s, t in messages(fresh) if t is None or t.get("type") is not None]
    assert untranslated == [], "run scripts/i18n.sh and translate these in custos_pl.ts"
    assert fresh.read_bytes() == TS.read_bytes(), "custos_pl.ts is stale: run scripts/i18n.sh"


def test_the_committed_qm_is_compiled_from_the_ts(tmp_path):
    compiled = tmp_path / "custos_pl.qm"
    subprocess.run(
        [tool("pyside6-lrelease"), "-silent", "-fail-on-invalid", str(TS), "-qm", str(compiled)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert compiled.read_bytes() == QM.read_bytes(), "custos_pl.qm is stale: run scripts/i18n.sh"


@pytest.mark.parametrize(
    ("name", "expected"), [("pl_PL", "pl"), ("pl", "pl"), ("en_GB", "en"), ("de_DE", "en"), ("C", "en")]
)
def test_system_language_is_polish_only_on_a_polish_locale(name, expected):
    assert system_language(QLocale(name)) == expected


@pytest.fixture
def translated(qapp):
    installed = []

    def install(language, directory=I18N_DIR):
        installed.extend(install_translators(qapp, language, directory))
        return installed

    yield install
    for translator in installed:
        qapp.removeTranslator(translator)


def test_polish_login_window(qtbot, translated):
    assert translated("pl")
    window = LoginWindow("Demo Telecom", "agent.one")
    qtbot.addWidget(window)
    assert window.submit_button.text() == "Zaloguj"
    assert window.windowTitle() == "Custos — logowanie do organizacji Demo Telecom"


def test_english_login_window(qtbot, translated):
    assert translated("en") == []
    window = LoginWindow("Demo Telecom", "agent.one")
    qtbot.addWidget(window)
    assert window.submit_button.text() == "Log in"


def test_missing_catalogue_leaves_english(qtbot, translated, tmp_path, caplog):
    assert translated("pl", tmp_path) == []
    assert "stays in English" in caplog.text
    window = LoginWindow("Demo Telecom", "agent.one")
    qtbot.addWidget(window)
    assert window.submit_button.text() == "Log in"


CHILD = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractButton, QApplication
import agent_client.main as entry
from agent_client.views.login_window import LoginWindow

class App(QApplication):
    def exec(self):
        QTimer.singleShot(100, self.report)
        return super().exec()

    def report(self):
        shown = [w for w in self.topLevelWidgets() if w.isVisible()]
        login = LoginWindow("Demo Telecom", "agent.one")
        print(json.dumps({
            "titles": [w.windowTitle() for w in shown],
            "buttons": [b.text() for w in shown for b in w.findChildren(QAbstractButton)],
            "login_button": login.submit_button.text(),
        }))
        self.exit(0)

entry.QApplication = App
sys.exit(entry.main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("args", "lang_env", "login_button", "first_window"),
    [
        (["--lang", "pl"], "en_US.UTF-8", "Zaloguj", "Custos — rejestracja tego komputera"),
        (["--lang", "en"], "pl_PL.UTF-8", "Log in", "Custos — enrol this computer"),
        ([], "pl_PL.UTF-8", "Zaloguj", "Custos — rejestracja tego komputera"),
        ([], "C", "Log in", "Custos — enrol this computer"),
    ],
)
def test_main_installs_the_language_before_any_window(tmp_path, args, lang_env, login_button, first_window):
    result = subprocess.run(
        [sys.executable, "-c", CHILD, "--ephemeral-keyring", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "QT_QPA_PLATFORM": "offscreen",
            "PATH": "",
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "conf"),
            "LANG": lang_env,
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["titles"] == [first_window]
    assert report["login_button"] == login_button
    if login_button == "Zaloguj":
        assert "Zarejestruj" in report["buttons"]

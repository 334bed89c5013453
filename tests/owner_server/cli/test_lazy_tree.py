"""``custos-server GROUP ...`` loads only that group's module when the group stands alone."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer.main

from owner_server.cli.main import ALONE, build_alone, build_app


def _commands(group: Any) -> dict[str, list[str]]:
    return {name: sorted(p.name or "" for p in cmd.params) for name, cmd in group.commands.items()}


@pytest.mark.parametrize("name", sorted(ALONE))
def test_a_lone_group_has_every_command_the_whole_tree_gives_it(name):
    whole = typer.main.get_command(build_app())
    alone = typer.main.get_command(build_alone(name))
    assert list(alone.commands) == [name]  # type: ignore[attr-defined]
    assert _commands(alone.commands[name]) == _commands(whole.commands[name])  # type: ignore[attr-defined]


def test_audit_verify_starts_without_the_server_app_or_the_importer(tmp_path):
    probe = (
        "import sys; sys.argv = ['custos-server', 'audit', 'verify', '--data-dir', sys.argv[1]]\n"
        "from owner_server.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('owner_server.api.app', 'owner_server.lists.importing', 'fastapi')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "none")], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip(), done.stderr  # one line: no installation there


def test_an_unknown_first_word_still_gets_the_whole_tree():
    done = subprocess.run([sys.executable, "-m", "owner_server", "nope"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "No such command" in done.stderr

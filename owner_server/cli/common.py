"""Options and error handling every command shares."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from owner_server.core.datadir import Installation, open_installation
from owner_server.core.settings import DATA_DIR_ENV, resolve_data_dir
from shared.errors import CustosError

__all__ = [
    "DataDirOpt",
    "DbUrlOpt",
    "JsonOpt",
    "confirm_or_fail",
    "err_console",
    "fail",
    "installation",
    "out",
    "read_secret_stdin",
]

out = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar=DATA_DIR_ENV, help="Installation data dir (default ./custos-data)."),
]
DbUrlOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="CUSTOS_DATABASE_URL", help="Override the database URL (e.g. PostgreSQL)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON report for machines.")]


def fail(message: str, code: int = 2, *, error_code: str = "bad_request") -> typer.Exit:
    """Print a clear error (no traceback) and return the exit to raise.

    With ``--json`` on the command line the error is JSON on stderr too:
    ``{"error": {"code": error_code, "message": message}}``.

    Args:
        message: One sentence, no personal data.
        code: The exit status.
        error_code: A stable machine code (a :class:`shared.errors.ErrorCode` value or a CLI one).

    Returns:
        The ``typer.Exit`` to raise.
    """
    if "--json" in sys.argv[1:]:
        sys.stderr.write(json.dumps({"error": {"code": error_code, "message": message}}, ensure_ascii=False) + "\n")
    else:
        err_console.print("[bold red]error:[/] " + escape(message))  # names and values are never read as markup
    return typer.Exit(code)


@contextmanager
def installation(data_dir: Path | None, database_url: str | None = None) -> Iterator[Installation]:
    """Open the data dir for one command; domain errors become clear messages."""
    inst: Installation | None = None
    try:
        inst = open_installation(resolve_data_dir(data_dir), database_url=database_url)
        yield inst
    except CustosError as exc:
        raise fail(exc.message, error_code=exc.code.value) from None
    finally:
        if inst is not None:
            inst.close()


def confirm_or_fail(question: str, *, yes: bool, nothing_done: str) -> None:
    """Ask before a destructive command unless ``--yes``; without a terminal to ask on, refuse.

    Args:
        question: The question, naming what will be lost.
        yes: ``--yes`` was given.
        nothing_done: What the refusal says was not done (e.g. "nothing was erased").

    Raises:
        typer.Exit: Not confirmed (exit status 2, one line).
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail(f"{question.rstrip('?')}? Not confirmed (no terminal to ask on); {nothing_done}; pass --yes")
    if not typer.confirm(question, default=False):
        raise fail(f"not confirmed; {nothing_done} (pass --yes to skip the question)")


def read_secret_stdin() -> str:
    """Read one line from standard input (a password), without echo when a TTY."""
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise fail("no password on standard input")
    return line


def print_json(data: Any) -> None:
    """Print JSON to standard output."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


__all__ += ["print_json"]


def add_row(table: Table, *cells: str) -> None:
    """Add a row of plain text: a name like ``[/x]`` (an agent's device name, say) is shown, never read as markup."""
    table.add_row(*(escape(cell) for cell in cells))


def print_new_password(login: str, password: str, *, generated: bool, json_out: bool, ended: str) -> None:
    """Report a password reset: the password only when generated (shown once), as text or ``--json``.

    Args:
        login: Whose password.
        password: The new password.
        generated: Whether Custos made it (else the admin typed it and it is not echoed).
        json_out: ``--json`` was given.
        ended: What the reset ended, for the sentence ("its sessions", "its console sessions").
    """
    shown = password if generated else None
    if json_out:
        print_json({"login": login, "password": shown})
        return
    out.print(f"Reset the password of [bold]{escape(login)}[/]; {ended} ended")
    if shown:
        out.print(f"Password (shown once): {escape(shown)}")


__all__ += ["print_new_password"]

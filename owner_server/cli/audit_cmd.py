"""``audit verify`` and ``audit checkpoint``."""

from __future__ import annotations

from typing import Annotated

import typer

from owner_server.audit.verify_ranges import default_processes
from owner_server.cli.common import DataDirOpt, DbUrlOpt, JsonOpt, err_console, installation, out, print_json

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


IncrementalOpt = Annotated[
    bool,
    typer.Option(
        "--incremental",
        help="Only the entries after the latest signed checkpoint (its signature checked); run the full pass too.",
    ),
]


ProcessesOpt = Annotated[
    int | None,
    typer.Option("--processes", min=1, max=64, help="Worker processes of the full pass (default: one per CPU)."),
]


@audit_app.command("verify")
def verify(
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
    incremental: IncrementalOpt = False,
    processes: ProcessesOpt = None,
) -> None:
    """Check every entry and signed checkpoint; exit 1 naming the first bad entry."""
    with installation(data_dir, database_url) as inst:
        workers = default_processes() if processes is None else processes
        result = inst.verify_audit(incremental=incremental, processes=workers)
    if json_out:
        print_json(
            {
                "ok": result.ok,
                "entries": result.entries,
                "checkpoints": result.checkpoints,
                "bad_seq": result.bad_seq,
                "reason": result.reason,
                "incremental": incremental,
            }
        )
    elif result.ok:
        scope = "after the latest signed checkpoint" if incremental else "entries"
        out.print(f"audit log intact: {result.entries} {scope}, {result.checkpoints} signed checkpoints")
    else:
        err_console.print(f"[bold red]audit log BROKEN[/] at entry {result.bad_seq}: {result.reason}")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False) -> None:
    """Sign the current head of the log."""
    with installation(data_dir, database_url) as inst:
        cp = inst.checkpoint()
    seq = cp.seq if cp else None
    if json_out:
        print_json({"checkpoint_seq": seq})
    else:
        out.print(f"signed checkpoint at entry {seq}" if seq else "head already checkpointed")

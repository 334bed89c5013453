"""``import``: a contact list into a campaign, with a report and a progress bar."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from owner_server.cli.common import (
    DataDirOpt,
    DbUrlOpt,
    JsonOpt,
    add_row,
    err_console,
    fail,
    installation,
    out,
)
from owner_server.lists import importer
from owner_server.lists.importing.pipeline import OpenedFile, estimate_records, open_file
from shared.errors import CustosError

__all__ = ["import_file"]

SHOWN_ROWS = 50


def _parse_maps(pairs: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise fail(f"--map takes COLUMN=FIELD, got '{pair}'")
        result[column.strip()] = target.strip()
    return result


def _print_report(opened: OpenedFile, report: importer.ImportReport, dry_run: bool) -> None:
    src = opened.source
    out.print(f"File: encoding {src.encoding}, delimiter {src.delimiter!r}" if src.delimiter else "File: XLSX workbook")
    for line in opened.mapping.describe():
        out.print(f"  {line}")
    verb = "would import" if dry_run else "imported"
    out.print(
        f"[bold]{verb} {report.imported}[/], rejected {len(report.rejected)}, duplicates {len(report.duplicates)}, "
        f"blank skipped {report.blank_records}, warnings {len(report.warnings)}, "
        f"on the DNC list {report.suppressed} (stored, never issued)"
    )
    shown = None if dry_run else SHOWN_ROWS  # a dry run is for reading the whole report
    if report.rejected or report.warnings:
        table = Table("record", "code", "reason", title="Rejected records and warnings")
        left = None if shown is None else max(shown - len(report.rejected), 0)
        for row in [*report.rejected[:shown], *report.warnings.head(left)]:
            add_row(table, str(row.record_no), row.reason_code, row.reason)
        out.print(table)
    if report.duplicates:
        table = Table("record", "duplicate of", title="Duplicates")
        for dup in report.duplicates[:shown]:
            add_row(
                table,
                str(dup.record_no),
                f"record {dup.first_record_no}" if dup.first_record_no else "existing contact",
            )
        out.print(table)
    hidden = max(len(report.rejected) + len(report.warnings) - SHOWN_ROWS, 0) + max(
        len(report.duplicates) - SHOWN_ROWS, 0
    )
    if hidden and not dry_run:
        out.print(f"... and {hidden} more rows; use --json for the full report")


def _print_json_streaming(data: dict[str, object], key: str, items: Iterator[dict[str, object]]) -> None:
    """Print ``data`` as :func:`print_json` would, with ``key`` last holding ``items``, written one at a time.

    A million warnings are never a list in memory: each is encoded and written
    as it comes out of the report's compact tally.
    """
    head = json.dumps({**data, key: []}, ensure_ascii=False, indent=2, default=str)
    assert head.endswith("[]\n}"), "the streamed key is the last one"
    write = sys.stdout.write
    write(head[: -len("[]\n}")] + "[")
    sep = "\n"
    for item in items:
        write(sep + "    " + json.dumps(item, ensure_ascii=False, default=str))
        sep = ",\n"
    write("\n  ]\n}\n" if sep != "\n" else "]\n}\n")


@contextmanager
def _interrupt_at_safe_points() -> Iterator[threading.Event]:
    """Turn the first Ctrl+C into a flag the import checks between chunks; a second one stops at once.

    A KeyboardInterrupt raised anywhere (inside SQLite, inside a rollback)
    could leave a connection holding the write lock while the import cleans up;
    raised from the progress callback, it unwinds the import in order.
    """
    flag = threading.Event()

    def ask(signum: int, frame: object) -> None:
        flag.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, ask) if threading.current_thread() is threading.main_thread() else None
    try:
        yield flag
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def import_file(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file.", exists=True, dir_okay=False, readable=True)],
    campaign: Annotated[str, typer.Option(help="Target campaign.")],
    data_dir: DataDirOpt = None,
    region: Annotated[str, typer.Option(help="Default region for national numbers (ISO 3166 code).")] = "PL",
    encoding: Annotated[str | None, typer.Option(help="Force the CSV encoding.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Force the CSV delimiter (use 'tab' for TAB).")] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help="COLUMN=FIELD override (repeat).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the mapping and the full report (every row); write nothing.")
    ] = False,
    accept_float_artefacts: Annotated[
        bool,
        typer.Option(
            "--accept-float-artefacts",
            help="Read a phone saved as a float (607924402.0) without its exact '.0' tail; "
            "other decimals are still rejected; each such record is listed as repaired.",
        ),
    ] = False,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Import a contact list: normalise, deduplicate, encrypt; all or nothing.

    Exits 1 when the file had records but every one was rejected.
    """
    if delimiter == "tab":
        delimiter = "\t"
    with installation(data_dir, database_url) as inst:
        try:
            opened = open_file(
                file,
                region=region.upper(),
                encoding=encoding,
                delimiter=delimiter,
                overrides=_parse_maps(map_ or []),
                accept_float_artefacts=accept_float_artefacts,
            )
            total = estimate_records(file)
            with Progress(
                TextColumn("importing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
                disable=json_out or not err_console.is_terminal,
            ) as progress:
                task = progress.add_task("import", total=total, rate="-")

                def on_progress(done: int) -> None:
                    if interrupted.is_set():  # a safe point: between chunks, nothing half-written
                        raise KeyboardInterrupt
                    elapsed = progress.tasks[0].elapsed or 0.0
                    progress.update(task, completed=done, rate=f"{done / elapsed:,.0f}" if elapsed else "-")

                with _interrupt_at_safe_points() as interrupted:
                    report = importer.import_file(
                        inst.engine,
                        keys=inst.keys,
                        campaign_name=campaign,
                        opened=opened,
                        actor="admin:cli",
                        dry_run=dry_run,
                        on_progress=on_progress,
                    )
            report.blank_records = opened.source.blank_records
        except CustosError as exc:
            raise fail(exc.message) from None
        except KeyboardInterrupt:  # the importer removed what it staged before this arrives
            raise fail("interrupted; nothing was imported", code=130, error_code="interrupted") from None
    if json_out:
        data = report.as_dict(with_warnings=False)
        data["dry_run"] = dry_run
        data["mapping"] = opened.mapping.describe()
        _print_json_streaming(data, "warnings", report.warning_dicts())
    else:
        _print_report(opened, report, dry_run)
    if report.imported == 0 and report.rejected and not report.duplicates:
        err_console.print("[bold red]error:[/] no record could be imported; see the reasons above")
        raise typer.Exit(1)

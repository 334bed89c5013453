"""``dnc import``: add numbers to the do-not-call list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from owner_server.cli.common import DataDirOpt, DbUrlOpt, JsonOpt, fail, installation, out, print_json
from owner_server.lists import suppression
from owner_server.lists.importing.pipeline import file_sha256, phone_rows
from shared.errors import CustosError

__all__ = ["dnc_app"]

dnc_app = typer.Typer(help="The do-not-call (suppression) list.", no_args_is_help=True)


@dnc_app.command("import")
def dnc_import(
    file: Annotated[
        Path, typer.Argument(help="CSV/XLSX with a phone column, or .txt with one number a line.", exists=True)
    ],
    data_dir: DataDirOpt = None,
    region: Annotated[str, typer.Option(help="Default region for national numbers.")] = "PL",
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add numbers to the DNC list; matching contacts are never issued again."""
    with installation(data_dir, database_url) as inst:
        try:
            report = suppression.import_dnc(
                inst.engine,
                keys=inst.keys,
                rows=phone_rows(file, region=region.upper()),
                source_sha256=file_sha256(file),
                actor="admin:cli",
            )
        except (CustosError, UnicodeDecodeError) as exc:
            raise fail(getattr(exc, "message", "the file is not UTF-8 text")) from None
    if json_out:
        print_json(report.as_dict())
        return
    out.print(
        f"DNC: added {report.added}, already listed {report.already_listed}, "
        f"contacts suppressed {report.contacts_suppressed} (records withdrawn from agents {report.leases_withdrawn}), "
        f"rejected {len(report.rejected)}"
    )
    for row in report.rejected[:50]:
        out.print(f"  record {row.record_no}: {row.reason}")

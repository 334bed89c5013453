"""``canary add``: synthetic contacts with the owner's trap numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from owner_server.cli.common import DataDirOpt, DbUrlOpt, JsonOpt, fail, installation, out, print_json
from owner_server.lists import canaries
from owner_server.lists.importing.pipeline import phone_rows
from shared.errors import CustosError

__all__ = ["canary_app"]

canary_app = typer.Typer(help="Canary contacts: trap numbers that show who saw a leaked list.", no_args_is_help=True)


@canary_app.command("add")
def canary_add(
    campaign: Annotated[str, typer.Option(help="The campaign to seed.")],
    phones: Annotated[
        Path,
        typer.Option(
            help="The owner's trap numbers: .txt with one number a line, or CSV/XLSX with a phone column.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    count: Annotated[
        int | None,
        typer.Option(help="Canaries to add (trap numbers used round-robin); default one per number."),
    ] = None,
    region: Annotated[str, typer.Option(help="Default region for national numbers.")] = "PL",
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Seed a campaign with canary contacts: issued like any other, never exported, audited."""
    with installation(data_dir, database_url) as inst:
        try:
            report = canaries.add_canaries(
                inst.engine,
                keys=inst.keys,
                campaign_name=campaign,
                phones=phone_rows(phones, region=region.upper()),
                actor="admin:cli",
                count=count,
            )
        except CustosError as exc:
            raise fail(exc.message) from None
        except UnicodeDecodeError:
            raise fail("the file is not UTF-8 text") from None
        except OSError as exc:
            raise fail(f"cannot read {phones}: {exc.strerror or exc}") from None
    if json_out:
        print_json(report.as_dict())
        return
    out.print(
        f"Added {report.added} canary contacts to '{report.campaign}' with {report.trap_numbers} trap numbers; "
        "they are issued like any contact and left out of exports."
    )

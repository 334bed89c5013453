"""``watermark decode IMAGE``: which agent, lease and contact a photographed or captured screen shows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from owner_server.audit.watermark import load_watermark_key
from owner_server.audit.watermark_trace import Issuance, find_codes, read_image, trace, verified_claims
from owner_server.cli.common import DataDirOpt, DbUrlOpt, JsonOpt, fail, installation, out, print_json
from owner_server.core.db import session_scope
from shared.errors import CustosError

__all__ = ["register", "watermark_app"]

ACTOR = "admin:cli"
watermark_app = typer.Typer(help="The signed watermark codes the agent client shows.", no_args_is_help=True)


def _line(text: str) -> None:
    out.print(text, markup=False)  # a login like "[x]" is shown, never read as markup


def _print(issuance: Issuance) -> None:
    _line(f"lease       {issuance.lease_id}")
    _line(f"issued at   {issuance.issued_at:%Y-%m-%d %H:%M:%S} UTC")
    if not issuance.found:
        _line(f"agent id    {issuance.agent_id}")
        _line("(signed by this installation, but the lease is not in its database)")
        return
    _line(f"agent       {issuance.agent}")
    _line(f"outsourcer  {issuance.outsourcer or '-'}")
    _line(f"contact     {issuance.contact_ref}")
    _line(f"campaign    {issuance.campaign}")


@watermark_app.command("decode")
def decode(
    image: Annotated[Path, typer.Argument(help="A PNG or JPEG photo or screenshot of the agent client.")],
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Read the watermark QR from IMAGE, check it was signed here, and print its agent, contact and time (audited).

    Exit 2 with one line when the file is not an image, holds no code, or the
    code is not signed by this installation (forged, altered, or another's).
    """
    try:
        payloads = find_codes(read_image(image))
    except CustosError as exc:
        raise fail(exc.message) from None
    with installation(data_dir, database_url) as inst:
        public_key = load_watermark_key(inst.settings.data_dir, create=False).public_key()
        claims = verified_claims(payloads, public_key)
        with session_scope(inst.engine) as session:
            found = [trace(session, claims=c, actor=ACTOR) for c in claims]
    forged = len(payloads) - len(claims)
    if json_out:
        print_json({"codes": [i.as_json() for i in found], "codes_found": len(payloads), "not_genuine": forged})
        return
    if forged:
        _line(f"warning: {forged} of {len(payloads)} codes in the image are not signed by this installation")
    for n, issuance in enumerate(found):
        if n:
            _line("")
        _print(issuance)


def register(app: typer.Typer) -> None:
    """Add ``watermark`` to the ``custos-server`` tree."""
    app.add_typer(watermark_app, name="watermark")

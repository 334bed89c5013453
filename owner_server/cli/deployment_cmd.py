"""``deployment bundle``: what IT needs for one site."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from owner_server.cli.common import DataDirOpt, JsonOpt, fail, out, print_json
from owner_server.core.settings import load_settings, resolve_data_dir
from owner_server.deployment.bundle import write_bundle
from shared.errors import CustosError

__all__ = ["deployment_app"]

deployment_app = typer.Typer(help="What IT installs beside every agent client.", no_args_is_help=True)


@deployment_app.command("bundle")
def bundle(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory to write (must not exist or be empty).", show_default=False)
    ],
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write the site's deployment config, CA certificate, TUF root (if set up), checksums and an install guide."""
    target = out_dir.expanduser().absolute()
    try:
        written = write_bundle(load_settings(resolve_data_dir(data_dir)), target)
    except CustosError as exc:
        raise fail(exc.message) from None
    if json_out:
        print_json(
            {
                "out": str(written.out),
                "files": written.sha256,
                "sha256sums_sha256": written.sums_sha256,
                "ca_fingerprint_sha256": written.ca_fingerprint,
                "updates": written.updates,
            }
        )
        return
    names = ", ".join([*sorted(written.sha256), "SHA256SUMS"])
    out.print(f"Wrote the deployment bundle to [bold]{escape(str(written.out))}[/]: {names}")
    out.print(f"Tell IT by another channel: SHA-256 of SHA256SUMS is {written.sums_sha256}")
    if not written.updates:
        out.print("Updates are not set up: the bundle has no tuf-root.json")

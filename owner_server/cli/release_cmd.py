"""``release init|add|list|timestamp`` and ``release keys rotate-online``: the signed update repository.

Root keys stay on the medium ``--root-key-dir`` names (passphrase, if any, from
``$CUSTOS_ROOT_KEY_PASSPHRASE``); the online keys are the data dir's, encrypted
with its key-encryption key. Every change is audited.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from tuf.api.exceptions import RepositoryError

from owner_server.audit import log as audit
from owner_server.cli.common import DataDirOpt, JsonOpt, add_row, err_console, fail, installation, out, print_json
from owner_server.core.datadir import Installation
from owner_server.core.db import session_scope
from owner_server.updates.keys import ROOT_PASSPHRASE_ENV, OnlineKeys
from owner_server.updates.layout import UpdatesLayout
from owner_server.updates.repository import UpdateRepository
from shared.errors import CustosError
from shared.updates import PLATFORMS, Platform, platform_for_file

__all__ = ["release_app"]

ACTOR = "admin:cli"
release_app = typer.Typer(help="Signed client updates (TUF repository served to agents).", no_args_is_help=True)
keys_app = typer.Typer(help="Update-signing keys.", no_args_is_help=True)
release_app.add_typer(keys_app, name="keys")

RootKeyDirOpt = Annotated[
    Path,
    typer.Option("--root-key-dir", help="Directory of the offline root keys (removable media, never the data dir)."),
]


@contextmanager
def _repository(data_dir: Path | None) -> Iterator[tuple[Installation, UpdateRepository]]:
    with installation(data_dir) as inst:
        keys = OnlineKeys(UpdatesLayout(inst.settings.data_dir), inst.keys.provider)
        try:
            yield inst, UpdateRepository(inst.settings.data_dir, keys)
        except CustosError as exc:
            raise fail(exc.message) from None
        except RepositoryError as exc:
            raise fail(f"update metadata is not valid ({type(exc).__name__})") from None
        except OSError as exc:
            raise fail(f"cannot write the update repository: {exc.strerror or exc}") from None


def _audit(inst: Installation, action: str, **details: str | int) -> None:
    with session_scope(inst.engine) as session:
        audit.append(session, actor=ACTOR, action=action, object_type="release", details=details)


@release_app.command("init")
def init(
    root_key_dir: RootKeyDirOpt,
    threshold: Annotated[int, typer.Option(help="Root keys needed to sign a new root.")] = 1,
    keys: Annotated[int, typer.Option("--keys", help="Root keys to make (e.g. 3 with --threshold 2).")] = 1,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create the update repository: offline root keys, online keys and the first signed metadata."""
    with _repository(data_dir) as (inst, repo):
        keyids = repo.init(root_key_dir, threshold=threshold, count=keys)
        _audit(inst, "release_repository_created", threshold=threshold, root_keys=keys)
        if not os.environ.get(ROOT_PASSPHRASE_ENV):
            err_console.print(f"warning: {ROOT_PASSPHRASE_ENV} is not set; the root keys are written unencrypted")
        root_json = repo.layout.metadata / "root.json"
    if json_out:
        print_json({"root_keyids": keyids, "threshold": threshold, "root": str(root_json)})
        return
    out.print(f"Created the update repository; {keys} root key(s) in {root_key_dir} ({threshold} needed to sign root)")
    out.print(f"Store that medium offline. IT installs {root_json} on every agent machine as tuf-root.json")


@release_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="The installer (.deb, .exe).")],
    version: Annotated[str, typer.Option("--version", help="Its release version, e.g. 0.2.0.")],
    platform: Annotated[str | None, typer.Option(help="linux or windows (default: from the file suffix).")] = None,
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add an installer and publish it (new targets, snapshot and timestamp)."""
    implied = platform_for_file(file.name)
    chosen = platform or implied
    if chosen not in PLATFORMS:
        raise fail(f"--platform must be one of {', '.join(PLATFORMS)} (it cannot be told from {file.name})")
    if implied and chosen != implied:
        raise fail(f"{file.name} is a {implied} installer by its suffix, not {chosen}")
    target_platform: Platform = "linux" if chosen == "linux" else "windows"
    with _repository(data_dir) as (inst, repo):
        release = repo.add(file, version=version, platform=target_platform)
        _audit(inst, "release_added", name=release.name, version=release.version, platform=release.platform)
    if json_out:
        print_json(asdict(release))
        return
    out.print(f"Published {release.name} as version {release.version} for {release.platform}")


@release_app.command("list")
def list_releases(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """List the published installers and when each role's metadata expires."""
    with _repository(data_dir) as (_inst, repo):
        releases = repo.releases()
        expiries = repo.expiries()
    if json_out:
        expires = {role: when.isoformat() for role, when in expiries.items()}
        print_json({"releases": [asdict(r) for r in releases], "expires": expires})
        return
    table = Table("platform", "version", "name", "bytes")
    for r in releases:
        add_row(table, r.platform, r.version, r.name, str(r.length))
    out.print(table)
    out.print("Expires: " + ", ".join(f"{role} {when:%Y-%m-%d %H:%M} UTC" for role, when in expiries.items()))


@release_app.command("timestamp")
def timestamp(data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """Re-sign the timestamp now (the running server does this by itself before it expires)."""
    with _repository(data_dir) as (_inst, repo):
        version = repo.resign_timestamp()
    if json_out:
        print_json({"timestamp_version": version})
    else:
        out.print(f"Signed timestamp version {version}")


@keys_app.command("rotate-online")
def rotate_online(root_key_dir: RootKeyDirOpt, data_dir: DataDirOpt = None, json_out: JsonOpt = False) -> None:
    """Replace the targets, snapshot and timestamp keys; the offline root keys sign the new root."""
    with _repository(data_dir) as (inst, repo):
        version = repo.rotate_online(root_key_dir)
        _audit(inst, "release_keys_rotated", root_version=version)
    if json_out:
        print_json({"root_version": version})
    else:
        out.print(f"Rotated the online keys; signed root version {version} (clients follow it by themselves)")

"""``keys rotate``, ``keys status`` and ``keys retire``."""

from __future__ import annotations

from typing import Annotated

import typer

from owner_server.cli.common import DataDirOpt, DbUrlOpt, JsonOpt, confirm_or_fail, installation, out, print_json
from owner_server.core.db import session_scope
from owner_server.updates.keys import OnlineKeys
from owner_server.updates.layout import UpdatesLayout
from owner_server.vault import rotation as key_rotation
from owner_server.vault.kek import FileKekProvider

__all__ = ["keys_app"]

keys_app = typer.Typer(help="Key-encryption keys (KEK) and the data keys they wrap.", no_args_is_help=True)


@keys_app.command("rotate")
def rotate(data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False) -> None:
    """Make a new KEK version and rewrap every data key and update-signing key (contacts are not re-encrypted)."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        version, count = key_rotation.rotate_kek(session, keys=inst.keys, actor="admin:cli")
        OnlineKeys(UpdatesLayout(inst.settings.data_dir), inst.keys.provider).rewrap()  # update-signing keys too
    if json_out:
        print_json({"kek_version": version, "rewrapped": count})
    else:
        out.print(f"Rotated to key-encryption key version {version}; rewrapped {count} data keys")


@keys_app.command("status")
def status(data_dir: DataDirOpt = None, database_url: DbUrlOpt = None, json_out: JsonOpt = False) -> None:
    """Show KEK versions and what each wraps."""
    with installation(data_dir, database_url) as inst, session_scope(inst.engine) as session:
        st = key_rotation.key_status(session, keys=inst.keys)
    if json_out:
        print_json(
            {"available": st.available, "active": st.active, "wrapped_by": st.wrapped_by, "destroyed": st.destroyed}
        )
        return
    out.print(f"Active key-encryption key: version {st.active} (available: {', '.join(map(str, st.available))})")
    for version in st.available:
        out.print(f"  version {version}: wraps {st.wrapped_by.get(version, 0)} data keys")
    out.print(f"Destroyed data keys: {st.destroyed}")


@keys_app.command("retire")
def retire(
    version: Annotated[int, typer.Argument(help="KEK version no longer used.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    data_dir: DataDirOpt = None,
    database_url: DbUrlOpt = None,
) -> None:
    """Retire an unused KEK version (the file provider deletes its file); asks first unless --yes."""
    confirm_or_fail(
        f"Retire key-encryption key version {version} and delete its key file? This cannot be undone",
        yes=yes,
        nothing_done="nothing was retired",
    )
    with installation(data_dir, database_url) as inst:
        with session_scope(inst.engine) as session:
            key_rotation.retire_kek(session, keys=inst.keys, version=version, actor="admin:cli")
        if isinstance(inst.keys.provider, FileKekProvider):  # only once the retirement is recorded
            (inst.settings.keys_dir / f"kek-{version}.key").unlink(missing_ok=True)
    out.print(f"Retired key-encryption key version {version}")

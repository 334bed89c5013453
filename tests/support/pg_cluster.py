"""A throwaway PostgreSQL cluster in a temp dir, started with the installed initdb/pg_ctl.

Runs the server as the ``postgres`` system user when the tests run as root
(PostgreSQL refuses to run as root). Listens only on a Unix socket in the
cluster dir and on 127.0.0.1 at a free port.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["PgCluster", "find_pg_bin"]


def find_pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """Start, use and remove a private PostgreSQL cluster.

    Args:
        bin_dir: Holds initdb and pg_ctl.
        root: A new directory for the cluster (its data dir, socket and log); default a temp dir.
    """

    def __init__(self, bin_dir: Path, root: Path | None = None) -> None:
        self.bin_dir = bin_dir
        if root is not None:
            root.mkdir(parents=True)
        self.root = root if root is not None else Path(tempfile.mkdtemp(prefix="custos-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self._as_postgres:
            os.chmod(self.root, 0o700)  # the postgres user owns it next line
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "custos", "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")

    def stop(self, remove: bool = True) -> None:
        """Stop the server (immediate shutdown) and, when ``remove``, delete the cluster's directory."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            if remove:
                shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://custos@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=custos dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

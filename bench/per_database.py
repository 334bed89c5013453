"""What the benches that compare SQLite and PostgreSQL share: the ``--db`` choice and its run loop.

Each such bench runs one measurement per database (``--db sqlite``,
``postgresql`` or ``both``), PostgreSQL in a throwaway cluster
(``tests/support/pg_cluster.py``), and prints one line per result or, with
``--json``, one JSON list of every result with its ``ratio``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

__all__ = ["add_db_arguments", "run_per_database"]


def add_db_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--db {sqlite,postgresql,both}`` (default sqlite) and ``--json`` to a bench's parser."""
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--json", action="store_true")


def run_per_database(
    args: argparse.Namespace, measure: Callable[[str, str], list[Any]], describe: Callable[[Any], str]
) -> int:
    """Run ``measure(db, url)`` on each database ``args.db`` names and print the results.

    Args:
        args: Parsed arguments holding ``db`` and ``json`` (see :func:`add_db_arguments`).
        measure: Runs the bench on one database: ``(db name, URL)`` → its results, dataclasses
            with a ``ratio`` property; the URL is ``""`` for SQLite (the bench makes its own file).
        describe: One readable line for a result.

    Returns:
        The exit status: 0, or 2 when PostgreSQL is asked for and its binaries are not installed.
    """
    from tests.support.pg_cluster import PgCluster, find_pg_bin

    results: list[Any] = []
    names: Sequence[str] = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    for db in names:
        cluster = None
        url = ""
        if db == "postgresql":
            bin_dir = find_pg_bin()
            if bin_dir is None:
                print("PostgreSQL binaries are not installed", file=sys.stderr)
                return 2
            cluster = PgCluster(bin_dir)
            cluster.start()
            url = cluster.new_database()
        try:
            found = measure(db, url)
        finally:
            if cluster is not None:
                cluster.stop()
        results += found
        if not args.json:
            for result in found:
                print(describe(result), flush=True)
    if args.json:
        print(json.dumps([asdict(r) | {"ratio": r.ratio} for r in results]))
    return 0

"""``modelpack store ...``: look after a store itself (schema upgrades, moving to a team store)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    store = subparsers.add_parser("store", help="upgrade a store's schema or migrate it to another")
    sub = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    upgrade = sub.add_parser(
        "upgrade",
        help="bring a store's database schema to this release's version (safe to repeat)",
        description="Apply the schema migrations a store made by an earlier release is missing. "
        "A store already at this release's version is left untouched.",
    )
    upgrade.add_argument(
        "--store",
        metavar="URI",
        help="store to upgrade (default: MODELPACK_STORE_URI, else ./modelpack-store)",
    )
    upgrade.set_defaults(func=_upgrade)
    migrate = sub.add_parser(
        "migrate",
        help="copy a store (runs, metrics, registry, artifacts) into another",
        description="Copy every experiment, run (params, metric history, tags, artifacts) and "
        "registered model (versions, aliases, stages, tags) from one store into another, e.g. "
        "from a laptop store into a team server. Interrupted, it resumes where it stopped.",
    )
    migrate.add_argument(
        "--from", dest="source", metavar="SRC", required=True, help="store URI to copy from"
    )
    migrate.add_argument(
        "--to", dest="target", metavar="DST", required=True, help="store URI to copy into"
    )
    migrate.set_defaults(func=_migrate)


def _upgrade(args: argparse.Namespace) -> int:
    from modelpack._store import upgrade_store

    before, after = upgrade_store(args.store)
    if before == after:
        print(f"the store's schema is at version {after}, this release's: nothing to do")
    elif before == 0:
        print(f"made the store's schema (version {after})")
    else:
        print(f"upgraded the store's schema from version {before} to {after}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from modelpack._store import migrate_store

    migrate_store(args.source, args.target)
    return 0

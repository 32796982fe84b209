"""Starting the server: check the configuration once, then run uvicorn's workers.

Workers are separate processes that each build the app from the configuration passed in the
environment (``MODELPACK_SERVER_CONFIG``), so nothing but the store and the storage is shared.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any

from modelpack._optional import require
from modelpack.server._app import ServerConfig, create_app

__all__ = ["app_from_env", "check", "run"]

_ENV = "MODELPACK_SERVER_CONFIG"


def check(config: ServerConfig) -> ServerConfig:
    """Open the store (creating or upgrading it), the storage and the token file once, so a
    mistake stops the start with one message rather than failing every request."""
    from modelpack._storage import scheme_of, storage_for
    from modelpack._store import get_store
    from modelpack.server._auth import Tokens

    purpose = "the team server"
    require("starlette", "server", purpose=purpose)
    require("uvicorn", "server", purpose=purpose)
    require("httptools", "server", purpose=purpose)  # uvicorn's fast parser, chosen in run()
    require("orjson", "server", purpose=purpose)
    dest = config.artifacts_destination
    if scheme_of(dest) == "":
        dest = os.path.abspath(dest)
        os.makedirs(dest, exist_ok=True)
    storage = storage_for(dest)
    if scheme_of(dest) != "":
        # reach the bucket now: a missing bucket or an unreachable endpoint stops the start
        # with one message naming both, instead of failing every upload later
        storage.exists("")
    _upgrade(config.backend_store_uri)
    get_store(config.backend_store_uri)
    if config.auth_token_file:
        Tokens.load(config.auth_token_file)
    return dataclasses.replace(config, artifacts_destination=dest)


def _upgrade(uri: str) -> None:
    """Bring the store's schema to this release's version, saying so in one line if it did
    (an HTTP store upgrades its own)."""
    from modelpack._store import upgrade_store

    if uri.lower().startswith(("http://", "https://")):
        return
    before, after = upgrade_store(uri)
    if before and before != after:
        print(
            f"modelpack server: upgraded the store's schema from version {before} to {after}",
            file=sys.stderr,
            flush=True,
        )


def app_from_env() -> Any:
    """The app for a worker process (uvicorn's factory)."""
    return create_app(ServerConfig(**json.loads(os.environ[_ENV])))


def run(config: ServerConfig, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    config = check(config)
    os.environ[_ENV] = json.dumps(dataclasses.asdict(config))
    print(
        f"modelpack server: store {config.backend_store_uri}, artifacts "
        f"{config.artifacts_destination}, on http://{host}:{port} ({workers} worker"
        f"{'s' if workers != 1 else ''}; tokens {'required' if config.auth_token_file else 'off'})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        "modelpack.server._run:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http="httptools",
        log_level="info",
        access_log=False,
    )

"""Fixtures for the artifact storage tests: a bucket on the session's moto server, a cache of
the test's own, and every backend behind one parametrized fixture (local folder, S3 over HTTP,
fsspec's in-memory file system)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelpack._storage import ArtifactStorage, LocalStorage, storage_for


@pytest.fixture
def bucket(s3_env: Any) -> str:
    """A new empty bucket; AWS_ENDPOINT_URL and test credentials are set for the test."""
    return str(s3_env.create_bucket())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own model download cache (``<MODELPACK_CACHE_DIR>/models``)."""
    monkeypatch.setenv("MODELPACK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "models"


@pytest.fixture(params=["local", "s3", "fsspec-memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStorage]:
    if request.param == "local":
        yield LocalStorage(str(tmp_path / "root"))
    elif request.param == "s3":
        server = request.getfixturevalue("s3_env")
        yield storage_for(f"s3://{server.create_bucket()}/root")
    else:
        name = uuid.uuid4().hex
        store = storage_for(f"memory://{name}/root")
        yield store
        store.delete_prefix("")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class MotoLog:
    """The requests moto's server logged since a mark, e.g. the GETs of one bucket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self._settle()
        self.offset = self.path.stat().st_size

    def _settle(self) -> None:
        # moto writes its access line after answering: wait until the log stops growing
        size = -1
        for _ in range(50):
            now = self.path.stat().st_size
            if now == size:
                return
            size = now
            time.sleep(0.05)

    def requests(self, method: str, bucket: str) -> list[str]:
        """The request targets (``/bucket/key?query``) logged since the mark."""
        self._settle()
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            # werkzeug colours some status lines (206, 404): drop the escape codes
            text = _ANSI.sub("", f.read().decode("utf-8", "replace"))
        found = []
        for line in text.splitlines():
            start = line.find(f'"{method} /{bucket}')
            if start >= 0:
                target = line[start + len(method) + 2 :].split(" ", 1)[0]
                if target == f"/{bucket}" or target.startswith((f"/{bucket}/", f"/{bucket}?")):
                    found.append(target)
        return found


@pytest.fixture
def moto_log(s3_env: Any) -> MotoLog:
    log = MotoLog(Path(s3_env.log))
    log.mark()
    return log

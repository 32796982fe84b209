"""One rule for paths from outside (issue 13): the storage layer (every backend), the store's
artifact API on the local disk and the store's artifact API over a storage backend refuse the
same hostile paths with the same StoreError and the same reason, and accept the same harmless
spellings. (The team server's routes: tests/server/test_artifact_paths.py.)"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._client._tracking import TrackingClient
from modelpack._storage import ArtifactStorage, LocalStorage, clean_path, storage_for
from modelpack._store import artifact_parts
from modelpack._store._storage_artifacts import StorageArtifacts
from modelpack.exceptions import StoreError

#: hostile path -> the reason every entry point gives
HOSTILE: dict[str, tuple[str, str]] = {
    "absolute": ("/etc/passwd", "it is absolute"),
    "root-slash": ("/", "it is absolute"),
    "climb": ("../x", "it climbs out with '..'"),
    "inner-climb": ("a/../../x", "it climbs out with '..'"),
    "backslash-climb": ("a\\..\\x", "it climbs out with '..'"),
    "drive": ("C:\\x", "it names a drive"),
    "inner-drive": ("a/C:/x", "it names a drive"),
    "nul": ("a\x00b", "it holds a control character (NUL, newline...)"),
    "newline": ("a\nb", "it holds a control character (NUL, newline...)"),
    "very-long": ("a/" * 600 + "x", "it is longer than 1024 bytes"),
    "long-part": ("a/" + "x" * 300, "a part of it is longer than 255 bytes"),
}

#: harmless spelling -> the path it means
HARMLESS: dict[str, tuple[str, str]] = {
    "double-slash": ("a//b", "a/b"),
    "dot": ("./a", "a"),
    "backslash": ("a\\b", "a/b"),
    "trailing-slash": ("a/b/", "a/b"),
    "unicode": ("données/ü.txt", "données/ü.txt"),
}


def _reason(error: pytest.ExceptionInfo[StoreError]) -> str:
    """The part of the message after the path: ``"it is absolute. Give a path ..."``."""
    text = str(error.value)
    return text[text.index(": ") + 2 :] if ": " in text else text


def _message_pattern(reason: str, root: str) -> str:
    return re.escape(reason) + r"\. Give a path relative to " + re.escape(root) + r", without"


@pytest.fixture(params=["local", "fsspec-memory", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStorage]:
    if request.param == "local":
        yield LocalStorage(str(tmp_path / "root"))
    elif request.param == "s3":
        yield storage_for(f"s3://{request.getfixturevalue('s3_env').create_bucket()}/root")
    else:
        store = storage_for(f"memory://{uuid.uuid4().hex}/root")
        yield store
        store.delete_prefix("")


@pytest.mark.parametrize(("bad", "reason"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_one_rule_one_message(bad: str, reason: str) -> None:
    with pytest.raises(StoreError) as by_storage:
        clean_path(bad)
    with pytest.raises(StoreError) as by_store:
        artifact_parts(bad)
    assert str(by_storage.value).startswith("invalid artifact path ")
    assert _reason(by_storage).startswith(reason)
    # the same reason and advice; only the root named differs
    assert _reason(by_store) == _reason(by_storage).replace(
        "the storage root", "the run's artifact root"
    ).replace("'model/MLmodel'", "'plots/loss.png'")


@pytest.mark.parametrize(("given", "meant"), list(HARMLESS.values()), ids=list(HARMLESS))
def test_harmless_spellings_mean_the_same_everywhere(given: str, meant: str) -> None:
    assert clean_path(given) == meant
    assert artifact_parts(given) == tuple(meant.split("/"))
    assert clean_path("") == "" and clean_path(None) == "" and artifact_parts("") == ()


@pytest.mark.parametrize(("bad", "reason"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_storage_refuses_before_touching_anything(
    storage: ArtifactStorage, tmp_path: Path, bad: str, reason: str
) -> None:
    source = tmp_path / "f.txt"
    source.write_bytes(b"x")
    pattern = _message_pattern(reason, "the storage root")
    calls: list[Callable[[], Any]] = [
        lambda: storage.put_file(source, bad),
        lambda: storage.put_dir(tmp_path, bad),
        lambda: storage.get_file(bad, tmp_path / "out.txt"),
        lambda: storage.list(bad),
        lambda: storage.exists(bad),
        lambda: storage.uri_for(bad),
    ]
    for call in calls:
        with pytest.raises(StoreError, match=pattern):
            call()
    assert storage.list("") == []
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize(("given", "meant"), list(HARMLESS.values()), ids=list(HARMLESS))
def test_storage_stores_a_harmless_spelling_under_its_clean_path(
    storage: ArtifactStorage, tmp_path: Path, given: str, meant: str
) -> None:
    source = tmp_path / "f.txt"
    source.write_bytes(b"kept")
    storage.put_file(source, given)
    assert storage.exists(meant)
    storage.get_file(given, tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_bytes() == b"kept"


class _Runs(StorageArtifacts):
    """The artifact half of a store whose artifacts live in storage (a remote root)."""

    def __init__(self, root: Path) -> None:
        self.root, self.artifact_root = root, root / "staging"

    def run_storage(self, run_id: str) -> ArtifactStorage:
        return LocalStorage(str(self.root / "remote" / run_id))


_Runs.__abstractmethods__ = frozenset()


def _store_calls(tmp_path: Path, bad: str) -> dict[str, list[Callable[[], Any]]]:
    source = tmp_path / "src" / "f.txt"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(b"x")
    remote = _Runs(tmp_path / "team")
    client = TrackingClient()
    with modelpack.start_run() as run:
        pass
    run_id = run.info.run_id
    return {
        "the run's artifact root": [
            lambda: modelpack.log_artifact(str(source), artifact_path=bad, run_id=run_id),
            lambda: client.log_artifacts(run_id, str(source.parent), bad),
            lambda: client.list_artifacts(run_id, bad),
            lambda: client.download_artifacts(run_id, bad, str(tmp_path / "out")),
        ],
        "the storage root": [
            lambda: remote.log_artifact("r1", source, bad),
            lambda: remote.log_artifacts("r1", source.parent, bad),
            lambda: remote.list_artifacts("r1", bad),
            lambda: remote.download_artifacts("r1", bad, tmp_path / "out"),
        ],
    }


@pytest.mark.parametrize(("bad", "reason"), list(HOSTILE.values()), ids=list(HOSTILE))
def test_store_artifact_api_refuses_alike(tmp_path: Path, bad: str, reason: str) -> None:
    for root, calls in _store_calls(tmp_path, bad).items():
        for call in calls:
            with pytest.raises(StoreError, match=_message_pattern(reason, root)):
                call()
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "team" / "remote").exists()

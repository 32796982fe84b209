"""The ArtifactStorage contract, run against every backend: a local folder, S3 (moto over
HTTP) and fsspec (its in-memory file system)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from modelpack._storage import ArtifactStorage, FileInfo, LocalStorage
from modelpack.exceptions import IntegrityError, ModelNotFoundError, StoreError


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


MODEL = {
    "MLmodel": b"flavors: {}\n",
    "model.skops": b"weights" * 100,
    "code/helpers.py": b"x = 1\n",
    "code/deep/data.json": b"{}",
}


def test_file_round_trip(storage: ArtifactStorage, tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(70_000))
    storage.put_file(source, "a/b/in.bin")
    storage.get_file("a/b/in.bin", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()
    # replacing a file keeps one file with the new content
    source.write_bytes(b"second")
    storage.put_file(source, "a/b/in.bin")
    with storage.open_read("a/b/in.bin") as f:
        assert f.read() == b"second"
    assert storage.list("a/b") == [FileInfo("a/b/in.bin", False, 6)]


def test_directory_round_trip_and_listing(storage: ArtifactStorage, tmp_path: Path) -> None:
    source = _tree(tmp_path / "model", MODEL)
    storage.put_dir(source, "runs/1/model")

    assert storage.list("") == [FileInfo("runs", True, None)]
    assert storage.list("runs/1/model") == [
        FileInfo("runs/1/model/MLmodel", False, len(MODEL["MLmodel"])),
        FileInfo("runs/1/model/code", True, None),
        FileInfo("runs/1/model/model.skops", False, len(MODEL["model.skops"])),
    ]
    assert storage.list("runs/1/model/code") == [
        FileInfo("runs/1/model/code/deep", True, None),
        FileInfo("runs/1/model/code/helpers.py", False, 6),
    ]
    assert sorted(i.path for i in storage.walk("runs/1/model")) == sorted(
        f"runs/1/model/{rel}" for rel in MODEL
    )
    out = storage.get_dir("runs/1/model", tmp_path / "out")
    assert _read_tree(out) == MODEL
    # a trailing or doubled slash names the same place
    assert storage.list("runs/1/model/") == storage.list("runs//1/model")


def test_get_dir_of_the_root_and_of_a_file(storage: ArtifactStorage, tmp_path: Path) -> None:
    storage.put_dir(_tree(tmp_path / "m", MODEL), "")
    assert _read_tree(storage.get_dir("", tmp_path / "all")) == MODEL
    storage.get_dir("code/helpers.py", tmp_path / "one")
    assert _read_tree(tmp_path / "one") == {"helpers.py": b"x = 1\n"}


def test_missing_paths(storage: ArtifactStorage, tmp_path: Path) -> None:
    assert storage.list("nothing/here") == []
    assert list(storage.walk("nothing")) == []
    assert not storage.exists("nothing")
    with pytest.raises(ModelNotFoundError, match="no file at .*nothing/f.txt"):
        storage.get_file("nothing/f.txt", tmp_path / "f.txt")
    with pytest.raises(ModelNotFoundError, match="no file at"):
        storage.open_read("nothing/f.txt")
    with pytest.raises(ModelNotFoundError, match="nothing to download"):
        storage.get_dir("nothing", tmp_path / "out")
    assert not (tmp_path / "f.txt").exists()
    storage.delete_prefix("nothing")  # nothing to delete is fine


def test_exists_and_delete_keep_sibling_prefixes_apart(
    storage: ArtifactStorage, tmp_path: Path
) -> None:
    storage.put_dir(_tree(tmp_path / "a", {"f.txt": b"1", "sub/g.txt": b"2"}), "m")
    storage.put_dir(_tree(tmp_path / "b", {"f.txt": b"3"}), "m2")
    storage.put_file(tmp_path / "a" / "f.txt", "m.txt")
    assert storage.exists("m") and storage.exists("m/sub") and storage.exists("m/sub/g.txt")
    assert storage.exists("m.txt") and not storage.exists("m/none")
    storage.delete_prefix("m/sub")
    assert not storage.exists("m/sub") and storage.exists("m/f.txt")
    storage.delete_prefix("m")
    assert not storage.exists("m")
    assert storage.exists("m2/f.txt") and storage.exists("m.txt")
    assert [i.path for i in storage.list("")] == ["m.txt", "m2"]


def test_streamed_read_and_write(storage: ArtifactStorage) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    storage.put_stream(io.BytesIO(data), "blobs/data.bin")
    got = bytearray()
    with storage.open_read("blobs/data.bin") as f:
        while chunk := f.read(256 * 1024):
            assert len(chunk) <= 256 * 1024
            got += chunk
    assert bytes(got) == data


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "a/.."], ids=["up", "deep-up", "trailing-up"])
def test_paths_that_leave_the_root_are_refused(
    storage: ArtifactStorage, tmp_path: Path, bad: str
) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(StoreError, match="without '..'"):
        storage.put_file(source, bad)
    with pytest.raises(StoreError, match="without '..'"):
        storage.list(bad)


def test_uri_for(storage: ArtifactStorage) -> None:
    assert storage.uri_for("") == storage.root_uri
    assert storage.uri_for("a//b/") == f"{storage.root_uri}/a/b"


# ------------------------------------------------------------------ visibility of uploads
def test_a_failed_model_upload_leaves_no_mlmodel(
    storage: ArtifactStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _tree(tmp_path / "model", MODEL)
    storage.put_dir(source, "model")  # a complete model first: a failed replacement hides it

    written: list[str] = []
    real_put_file = storage.put_file

    def failing_put_files(files: list[tuple[Path, str]]) -> None:
        for local, dest in files[:2]:
            real_put_file(local, dest)
            written.append(dest)
        raise OSError("connection lost in the middle of the upload")

    monkeypatch.setattr(storage, "put_files", failing_put_files)
    with pytest.raises(OSError, match="connection lost"):
        storage.put_dir(source, "model")
    assert written and "model/MLmodel" not in written
    assert not storage.exists("model/MLmodel")
    assert storage.exists("model/model.skops")  # the rest is there, but it is no model


def test_mlmodel_is_written_last(storage: ArtifactStorage, tmp_path: Path) -> None:
    source = _tree(tmp_path / "model", MODEL)
    storage.put_dir(source, "existing")  # merging into an existing prefix goes file by file
    order: list[str] = []
    inside: list[bool] = []
    real_put_files, real_put_file = storage.put_files, storage.put_file

    def put_files(files: list[tuple[Path, str]]) -> None:
        order.extend(dest for _, dest in files)
        inside.append(True)  # a backend's put_files may call put_file: count files once
        real_put_files(files)
        inside.pop()

    def put_file(local: Path, dest: str) -> None:
        if not inside:
            order.append(dest)
        real_put_file(local, dest)

    storage.put_files = put_files  # type: ignore[method-assign]
    storage.put_file = put_file  # type: ignore[method-assign]
    storage.put_dir(source, "existing")
    assert order[-1] == "existing/MLmodel" and order.count("existing/MLmodel") == 1
    assert len(order) == len(MODEL)


def test_local_new_directory_appears_whole(tmp_path: Path) -> None:
    storage = LocalStorage(str(tmp_path / "root"))
    source = _tree(tmp_path / "model", MODEL)
    (source / "broken").symlink_to(tmp_path / "does-not-exist")  # a link is refused
    with pytest.raises(IntegrityError, match="broken"):
        storage.put_dir(source, "model")
    assert not storage.exists("model")
    assert os.listdir(tmp_path / "root") == []  # no temporary folder left behind
    (source / "broken").unlink()
    storage.put_dir(source, "model")
    assert _read_tree(tmp_path / "root" / "model") == MODEL


def test_local_file_uri_and_temporary_names_hidden(tmp_path: Path) -> None:
    storage = LocalStorage((tmp_path / "root").as_uri())
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / ".modelpack-tmp-123-f").write_bytes(b"half")
    source = tmp_path / "f"
    source.write_bytes(b"x")
    storage.put_file(source, "f")
    assert storage.list("") == [FileInfo("f", False, 1)]
    assert [i.path for i in storage.walk("")] == ["f"]

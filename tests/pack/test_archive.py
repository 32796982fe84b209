"""Safe extraction: hostile tar and zip archives are refused and write nothing anywhere."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack.exceptions import UnsafeArchiveError
from modelpack.pack._archive import safe_extract

Entry = Callable[[tarfile.TarFile], None]


def _file(name: str, data: bytes = b"x") -> Entry:
    def add(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))

    return add


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Entry:
    def add(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = target
        tf.addfile(info)

    return add


def _special(name: str, kind: bytes) -> Entry:
    def add(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        tf.addfile(info)

    return add


def _tar(path: Path, *entries: Entry) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for add in entries:
            add(tf)
    return path


def _everything_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


HOSTILE = {
    "absolute-path": [_file("/tmp/modelpack-evil-abs")],
    "dotdot": [_file("ok.txt"), _file("../evil.txt")],
    "dotdot-nested": [_file("a/b/../../../evil.txt")],
    "symlink-absolute": [_link("link", "/etc")],
    "symlink-escape": [_link("up", "../..")],
    "write-through-symlink": [_link("d", "."), _file("d/../../evil.txt")],
    "file-under-symlink": [_link("d", "sub"), _file("d/evil.txt")],
    "hardlink-outside": [_link("h", "../outside.txt", tarfile.LNKTYPE)],
    "hardlink-absolute": [_link("h", "/etc/passwd", tarfile.LNKTYPE)],
    "char-device": [_special("dev", tarfile.CHRTYPE)],
    "block-device": [_special("blk", tarfile.BLKTYPE)],
    "fifo": [_special("fifo", tarfile.FIFOTYPE)],
    "backslash-dotdot": [_file("..\\evil.txt")],
}


@pytest.mark.parametrize("entries", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_tar_is_refused_and_writes_nothing(tmp_path: Path, entries: list[Entry]) -> None:
    archive = _tar(tmp_path / "evil.tar.gz", *entries)
    target = tmp_path / "out" / "target"
    before = _everything_under(tmp_path)
    with pytest.raises(UnsafeArchiveError, match="refusing"):
        safe_extract(archive, target)
    after = _everything_under(tmp_path)
    assert set(after) - set(before) <= {"out", "out/target"}
    assert not any(target.iterdir())
    assert not Path("/tmp/modelpack-evil-abs").exists()


def test_link_chain_that_lands_outside_is_refused(tmp_path: Path) -> None:
    # Each link looks harmless on its own; through the first, the second points outside.
    archive = _tar(tmp_path / "chain.tar.gz", _link("x/y/d", "../.."), _link("x/y/d2", "d/../.."))
    target = tmp_path / "t"
    with pytest.raises(UnsafeArchiveError):
        safe_extract(archive, target)
    for p in target.rglob("*"):
        assert not p.is_symlink() or Path(os.path.realpath(p)).is_relative_to(target.resolve())


def test_safe_tar_extracts_files_dirs_and_inner_links(tmp_path: Path) -> None:
    archive = _tar(
        tmp_path / "ok.tar.gz",
        _file("pkg/a.txt", b"hello"),
        _file("./pkg/bin/run", b"#!/bin/sh\n"),
        _link("pkg/latest", "a.txt"),
        _link("pkg/copy", "pkg/a.txt", tarfile.LNKTYPE),
    )
    target = tmp_path / "t"
    names = safe_extract(archive, target)
    assert names == ["pkg/a.txt", "pkg/bin/run", "pkg/latest", "pkg/copy"]
    assert (target / "pkg/latest").read_bytes() == b"hello"
    assert os.readlink(target / "pkg/latest") == "a.txt"
    assert (target / "pkg/copy").read_bytes() == b"hello"
    assert not (target / "pkg/copy").is_symlink()


def test_setuid_bits_are_dropped(tmp_path: Path) -> None:
    def add(tf: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("tool")
        info.mode = 0o4755
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))

    target = tmp_path / "t"
    safe_extract(_tar(tmp_path / "s.tar.gz", add), target)
    mode = (target / "tool").stat().st_mode
    assert not mode & stat.S_ISUID and mode & stat.S_IXUSR


def test_size_limit(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "big.tar.gz", _file("big", b"0" * 10_000))
    with pytest.raises(UnsafeArchiveError, match="expands to 10000 bytes"):
        safe_extract(archive, tmp_path / "t", max_size=1000)


def _zip(path: Path, *members: tuple[str, bytes, int]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize(
    "member",
    [
        ("../evil.txt", b"x", 0o100644),
        ("/abs.txt", b"x", 0o100644),
        ("C:/windows.txt", b"x", 0o100644),
        ("link", b"/etc/passwd", 0o120777),
        ("link", b"../../x", 0o120777),
    ],
    ids=["dotdot", "absolute", "drive", "symlink-absolute", "symlink-escape"],
)
def test_hostile_zip_is_refused(tmp_path: Path, member: tuple[str, bytes, int]) -> None:
    target = tmp_path / "t"
    with pytest.raises(UnsafeArchiveError):
        safe_extract(_zip(tmp_path / "evil.zip", ("ok.txt", b"ok", 0o100644), member), target)
    assert not any(target.iterdir())


def test_safe_zip_extracts(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "ok.zip", ("a/b.txt", b"data", 0o100644), ("a/l", b"b.txt", 0o120777))
    safe_extract(archive, tmp_path / "t")
    assert (tmp_path / "t/a/l").read_bytes() == b"data"


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"nothing here")
    with pytest.raises(UnsafeArchiveError, match="neither a tar nor a zip"):
        safe_extract(tmp_path / "x.bin", tmp_path / "t")


def test_uncompressed_tar_ending_with_a_zip_member_is_a_tar(tmp_path: Path) -> None:
    inner = _zip(tmp_path / "w.whl", ("pkg/mod.py", b"x = 1\n", 0o100644))
    with tarfile.open(tmp_path / "plain.tar", "w") as tf:
        tf.add(inner, arcname="bundle/wheelhouse/w.whl")
    names = safe_extract(tmp_path / "plain.tar", tmp_path / "t")
    assert names == ["bundle/wheelhouse/w.whl"]
    assert (tmp_path / "t/bundle/wheelhouse/w.whl").read_bytes() == inner.read_bytes()

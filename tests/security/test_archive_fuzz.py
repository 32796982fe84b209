"""Hypothesis over archive members: whatever the names and links, nothing lands outside.

Random tar and zip archives are built from names made of ``..``, ``.``, empty and absolute
segments, backslashes, drive letters and NUL bytes, with files, folders, symbolic and hard
links among them. Whatever safe_extract does with one (extract it, or refuse it), nothing
outside the target changes, every link inside the target resolves inside it, and a refused
archive leaves the target as it was.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modelpack.exceptions import ModelpackError
from modelpack.pack._archive import safe_extract

# "{out}" becomes the absolute path of a folder beside the target: a name or link that
# reaches it shows up there.
SEGMENTS = ["a", "b", "..", ".", "", "{out}", "out", "C:", "c\\..\\..", "x\x00y", "target"]

# mostly plain segments, so that many archives are extracted rather than refused at once
segment = st.one_of(st.sampled_from(["a", "b", "c"]), st.sampled_from(SEGMENTS))
name = st.lists(segment, min_size=1, max_size=5).map("/".join)
kind = st.sampled_from(["file", "dir", "symlink", "hardlink"])
member = st.tuples(kind, name, name, st.binary(max_size=64))
archive = st.tuples(st.sampled_from(["tar", "zip"]), st.lists(member, min_size=1, max_size=8))


def _fill(text: str, out: Path) -> str:
    return text.replace("{out}", str(out))


def _write_tar(path: Path, members: list[tuple[str, str, str, bytes]]) -> None:
    with tarfile.open(path, "w") as tf:
        for what, raw, link, data in members:
            info = tarfile.TarInfo(raw)
            if what == "file":
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}.get(
                what, tarfile.LNKTYPE
            )
            info.linkname = link if what != "dir" else ""
            tf.addfile(info)


def _write_zip(path: Path, members: list[tuple[str, str, str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for what, raw, link, data in members:
            info = zipfile.ZipInfo(raw + ("/" if what == "dir" else ""))
            info.create_system = 3  # Unix: the mode below is read
            if what == "symlink":
                info.external_attr = 0o120777 << 16
                zf.writestr(info, link.encode("utf-8", "surrogateescape"))
            elif what == "dir":
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:  # zip has no hard links: a file
                info.external_attr = 0o100644 << 16
                zf.writestr(info, data)


def _snapshot(root: Path, skip: Path) -> dict[str, bytes | str]:
    """Everything under ``root`` but ``skip``: file contents, link targets, folders."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirs, files in os.walk(root):
        here = Path(dirpath)
        if here == skip or skip in here.parents:
            dirs[:] = []
            continue
        for d in dirs:
            out[str(here / d)] = "dir"
        for f in files:
            p = here / f
            out[str(p)] = ("link:" + os.readlink(p)) if p.is_symlink() else p.read_bytes()
    return out


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(archive)
def test_nothing_is_ever_written_outside_the_target(spec: tuple[str, list]) -> None:
    fmt, members = spec
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Path(os.path.realpath(tmp))
        outside = sandbox / "out"
        outside.mkdir()
        (outside / "keep.txt").write_bytes(b"keep")
        target = sandbox / "target"
        target.mkdir()
        filled = [(w, _fill(n, outside), _fill(lk, outside), d) for w, n, lk, d in members]
        path = sandbox / f"fuzz.{fmt}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns about duplicate names
                (_write_tar if fmt == "tar" else _write_zip)(path, filled)
        except (ValueError, UnicodeError, tarfile.TarError):
            return  # a name the writer itself cannot store
        before = _snapshot(sandbox, target)
        try:
            safe_extract(path, target)
            refused = False
            event(f"{fmt}: extracted")
        except (ModelpackError, OSError) as e:
            refused = True
            event(f"{fmt}: refused ({type(e).__name__})")
        assert _snapshot(sandbox, target) == before
        for p in target.rglob("*"):
            real = Path(os.path.realpath(p))
            assert real == target or target in real.parents, (p, real)
        if refused:
            assert list(target.iterdir()) == []

"""``modelpack unpack`` is bounded: archive bombs, member floods and damaged archives.

Every archive here is real (a ~2 MB gzip or zip that expands to ~2 GB, thousands of empty
members, truncated files); caps are set small so the tests stay quick. Each case expects the
refusal, and that nothing is left in the target afterwards.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from modelpack.exceptions import IntegrityError, UnsafeArchiveError
from modelpack.pack._archive import (
    DEFAULT_MAX_FILES,
    DEFAULT_MAX_SIZE,
    parse_size,
    safe_extract,
)
from modelpack.pack._bundle import unpack
from security._archive_helpers import (
    GiB,
    MiB,
    everything_under,
    tar_gz_of_zeros,
    tar_of,
    tar_of_empty_files,
    zip_of_zeros,
)

CAP = 10 * MiB


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=180,
        check=False,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelpack: error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def tar_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tar_gz_of_zeros(tmp_path_factory.mktemp("bombs") / "zeros.tar.gz", 2 * GiB)
    assert path.stat().st_size < 3 * MiB
    return path


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = zip_of_zeros(tmp_path_factory.mktemp("bombs") / "zeros.zip", 200, 10 * MiB)
    assert path.stat().st_size < 3 * MiB
    return path


def test_defaults_are_the_documented_ones() -> None:
    assert 10 * GiB == DEFAULT_MAX_SIZE
    assert DEFAULT_MAX_FILES == 100_000
    docs = (Path(__file__).parents[2] / "docs" / "packing.md").read_text(encoding="utf-8")
    assert "10 GiB" in docs and "100,000" in docs


@pytest.mark.parametrize("bomb", ["tar_bomb", "zip_bomb"])
def test_bomb_is_refused_before_anything_is_written(
    tmp_path: Path, bomb: str, request: pytest.FixtureRequest
) -> None:
    archive = request.getfixturevalue(bomb)
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError, match="max_size cap of 10.0 MB") as caught:
        safe_extract(archive, target, max_size=CAP)
    assert "--max-size" in str(caught.value)
    assert everything_under(target) == []


def test_bomb_is_refused_by_default_caps_too(tmp_path: Path) -> None:
    # 12 GiB of zeros in ~12 MB: over the 10 GiB default without any argument
    archive = tar_gz_of_zeros(tmp_path / "big.tar.gz", 12 * GiB, block=64 * MiB)
    with pytest.raises(UnsafeArchiveError, match=r"10\.0 GB"):
        safe_extract(archive, tmp_path / "target")
    assert everything_under(tmp_path / "target") == []


def test_bundle_bomb_is_refused_and_nothing_is_left(tmp_path: Path, tar_bomb: Path) -> None:
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError, match="max_size"):
        unpack(tar_bomb, target, max_size=CAP)
    assert everything_under(target) == []


def test_member_flood_is_refused(tmp_path: Path) -> None:
    archive = tar_of_empty_files(tmp_path / "many.tar.gz", 2_000)
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError, match="more than 1,000 members") as caught:
        safe_extract(archive, target, max_files=1_000)
    assert "--max-files" in str(caught.value)
    assert everything_under(target) == []
    assert len(safe_extract(archive, tmp_path / "ok", max_files=2_001)) == 2_000


def test_zip_member_flood_is_refused_from_its_end_record(tmp_path: Path) -> None:
    archive = zip_of_zeros(tmp_path / "many.zip", 3_000, MiB)
    with pytest.raises(UnsafeArchiveError, match="more than 1,000 members"):
        safe_extract(archive, tmp_path / "target", max_files=1_000, max_size=None)
    assert everything_under(tmp_path / "target") == []


def test_hard_links_count_as_copies(tmp_path: Path) -> None:
    # one 3 MiB file and 9 hard links to it: 3 MiB in the headers, 30 MiB on disk
    def add_links(tf: tarfile.TarFile) -> None:
        for i in range(9):
            info = tarfile.TarInfo(f"copy{i}")
            info.type = tarfile.LNKTYPE
            info.linkname = "data.bin"
            tf.addfile(info)

    archive = tmp_path / "links.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("data.bin")
        info.size = 3 * MiB
        tf.addfile(info, io.BytesIO(bytes(info.size)))
        add_links(tf)
    with pytest.raises(UnsafeArchiveError, match="max_size"):
        safe_extract(archive, tmp_path / "target", max_size=CAP)
    assert everything_under(tmp_path / "target") == []


def test_bytes_are_counted_while_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that yields more than the header says (a library that does not cut the data at
    the declared size) still stops at the cap, and what was written is removed."""
    archive = tar_of(tmp_path / "small.tar.gz", {"a.txt": b"a" * 100, "b.bin": b"b" * 100})
    real = tarfile.TarFile.extractfile

    def lying(self: tarfile.TarFile, member: Any) -> Any:
        if getattr(member, "name", member) == "b.bin":
            return io.BytesIO(bytes(64 * MiB))
        return real(self, member)

    monkeypatch.setattr(tarfile.TarFile, "extractfile", lying)
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError, match="headers declared less"):
        safe_extract(archive, target, max_size=CAP)
    assert everything_under(target) == []


def _cut(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


@pytest.mark.parametrize("compression", ["gz", "bz2", "xz", ""], ids=["gz", "bz2", "xz", "tar"])
@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_archive_is_an_integrity_error(
    tmp_path: Path, compression: str, fraction: float
) -> None:
    files = {f"pkg/f{i}.bin": os.urandom(40_000) for i in range(6)}
    whole = tar_of(tmp_path / "whole.tar", files, compression=compression).read_bytes()
    archive = tmp_path / "cut.tar"
    archive.write_bytes(_cut(whole, fraction))
    target = tmp_path / "target"
    target.mkdir()
    (target / "mine.txt").write_text("was here before")
    with pytest.raises(IntegrityError, match="truncated or damaged"):
        safe_extract(archive, target)
    # the files written before the damage was met are removed; what was there stays
    assert everything_under(target) == ["mine.txt"]


def test_truncated_zip_is_an_integrity_error(tmp_path: Path) -> None:
    whole = zip_of_zeros(tmp_path / "whole.zip", 5, MiB).read_bytes()
    archive = tmp_path / "cut.zip"
    archive.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IntegrityError, match="truncated or damaged"):
        safe_extract(archive, tmp_path / "target")
    assert everything_under(tmp_path / "target") == []


def test_missing_archive_is_file_not_found_and_makes_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        unpack(tmp_path / "nothere.tar.gz", tmp_path / "target")
    assert not (tmp_path / "target").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1048576", MiB), ("10M", 10 * MiB), ("10MB", 10 * MiB), ("2GiB", 2 * GiB), ("1.5k", 1536)],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "ten", "10X", "-5M"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="expected a size"):
        parse_size(text)


# ------------------------------------------------------------------------------ the command line
def test_cli_refuses_a_bomb_in_one_line(tmp_path: Path, tar_bomb: Path) -> None:
    line = _one_error_line(
        _cli("unpack", str(tar_bomb), "-o", "out", "--max-size", "10M", cwd=tmp_path)
    )
    assert "max_size cap of 10.0 MB" in line and "--max-size" in line
    assert everything_under(tmp_path / "out") == []


def test_cli_refuses_a_member_flood_in_one_line(tmp_path: Path) -> None:
    archive = tar_of_empty_files(tmp_path / "many.tar.gz", 300)
    line = _one_error_line(
        _cli("unpack", str(archive), "-o", "out", "--max-files", "100", cwd=tmp_path)
    )
    assert "more than 100 members" in line and "--max-files" in line
    assert everything_under(tmp_path / "out") == []


def test_cli_truncated_archive_is_one_line(tmp_path: Path) -> None:
    whole = tar_of(tmp_path / "w.tar.gz", {"b/x.bin": os.urandom(200_000)}).read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(whole[: len(whole) // 2])
    line = _one_error_line(_cli("unpack", "cut.tar.gz", "-o", "out", cwd=tmp_path))
    assert "truncated or damaged" in line
    assert everything_under(tmp_path / "out") == []


def test_cli_missing_archive_is_one_line(tmp_path: Path) -> None:
    line = _one_error_line(_cli("unpack", "nothere.tar.gz", "-o", "out", cwd=tmp_path))
    assert "No such file or directory" in line
    assert not (tmp_path / "out").exists()


def test_cli_bad_cap_is_a_usage_error(tmp_path: Path) -> None:
    proc = _cli("unpack", "x.tar.gz", "--max-size", "lots", cwd=tmp_path)
    assert proc.returncode == 2 and "expected a size" in proc.stderr


def test_cli_help_names_the_caps(tmp_path: Path) -> None:
    proc = _cli("unpack", "--help", cwd=tmp_path)
    assert "--max-size" in proc.stdout and "--max-files" in proc.stdout
    assert "10G" in proc.stdout and "100000" in proc.stdout

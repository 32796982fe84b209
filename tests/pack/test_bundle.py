"""``modelpack pack`` / ``unpack``: layout, digests, the lock, tampering and hostile archives."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from modelpack import _env
from modelpack._integrity import file_digest
from modelpack.exceptions import IntegrityError, ModelpackError, UnsafeArchiveError
from modelpack.pack._bundle import unpack

CLI = [sys.executable, "-m", "modelpack"]


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


def test_bundle_layout_and_manifest(tmp_path: Path, bundle_archive: Path) -> None:
    root = unpack(bundle_archive, tmp_path)
    assert root == tmp_path / "taxi-1"
    manifest = json.loads((root / "BUNDLE.json").read_text())
    assert manifest["kind"] == "wheelhouse"
    assert manifest["python"] == ".".join(_env.python_version().split(".")[:2])
    for rel, digest in manifest["files"].items():
        assert file_digest(root / rel) == digest
    assert {"model/MLmodel", "bootstrap.py", "serve", "predict", "requirements.lock"} <= set(
        manifest["files"]
    )
    for script in ("serve", "predict"):
        assert os.access(root / script, os.X_OK)

    wheels = sorted(p.name for p in (root / "wheelhouse").iterdir())
    assert all(w.endswith(".whl") for w in wheels)
    assert "modelpack-0.1.0-py3-none-any.whl" in wheels
    lock = _env.read_lock(root / "requirements.lock")
    assert len(lock) == len(wheels)  # one pinned, hashed entry per wheel, nothing else
    assert all(len(e.hashes) == 1 and e.hashes[0].startswith("sha256:") for e in lock)
    names = {e.name for e in lock}
    # The model's own requirements, modelpack's, and its server's.
    assert {
        "scikit-learn",
        "scipy",
        "numpy",
        "modelpack",
        "uvicorn",
        "httptools",
        "orjson",
    } <= names
    assert {"pandas", "pyarrow"} <= names  # for ./predict (and CSV / Parquet request bodies)
    assert {e.name: e.version for e in lock}["scikit-learn"] == _env.installed_version(
        "scikit-learn"
    )
    assert "pytest" not in names


def test_pack_cli_reports_the_archive(
    tmp_path: Path, packable_model: Path, wheel_cache: Path
) -> None:
    out = tmp_path / "dist" / "taxi-cli.tar.gz"
    proc = _cli("pack", str(packable_model), "-o", str(out), "--cache-dir", str(wheel_cache))
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and f"packed {packable_model} into {out}" in proc.stdout
    assert "tar xzf taxi-cli.tar.gz && ./taxi-cli/serve" in proc.stdout
    assert not list(out.parent.glob(".modelpack-pack-*"))  # staging removed
    proc = _cli("unpack", str(out), "-o", str(tmp_path / "u"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "u" / "taxi-cli" / "BUNDLE.json").is_file()


def _rewrite(
    archive: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None
) -> None:
    """Rewrite ``archive`` with members replaced (bytes) or removed (None)."""
    members = []
    with tarfile.open(archive) as tf:
        for info in tf.getmembers():
            short = info.name.split("/", 1)[1]
            data = tf.extractfile(info).read() if info.isfile() else b""  # type: ignore[union-attr]
            if short in change:
                if change[short] is None:
                    continue
                data = change[short]  # type: ignore[assignment]
            members.append((info, data))
        top = members[0][0].name.split("/", 1)[0]
    with tarfile.open(archive, "w") as tf:  # uncompressed: quicker, unpack reads both
        for info, data in members:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, data in (add or {}).items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(
    ("change", "add", "expected"),
    [
        (
            {"model/requirements.txt": b"evil-package==6.6.6\n"},
            None,
            "model/requirements.txt: modified",
        ),
        ({"requirements.lock": b"evil==1\n"}, None, "requirements.lock: modified"),
        ({"model/MLmodel": None}, None, "model/MLmodel: missing"),
        ({}, {"wheelhouse/evil-1.0-py3-none-any.whl": b"PK"}, "not listed"),
        ({"BUNDLE.json": b"{}"}, None, "BUNDLE.json"),
    ],
    ids=["modified-model-file", "modified-lock", "removed-file", "added-wheel", "broken-manifest"],
)
def test_tampered_bundle_is_refused_and_nothing_is_left(
    tmp_path: Path,
    fresh_copy: Path,
    change: dict[str, bytes | None],
    add: dict[str, bytes] | None,
    expected: str,
) -> None:
    _rewrite(fresh_copy, change, add)
    target = tmp_path / "target"
    with pytest.raises(IntegrityError, match=expected):
        unpack(fresh_copy, target)
    assert list(target.iterdir()) == []


def test_tampering_after_unpack_stops_the_entry_scripts(
    tmp_path: Path, bundle_archive: Path
) -> None:
    root = unpack(bundle_archive, tmp_path)
    assert (
        subprocess.run(
            [sys.executable, str(root / "bootstrap.py"), "verify"], capture_output=True, check=False
        ).returncode
        == 0
    )
    with open(root / "model" / "requirements.txt", "a") as f:
        f.write("evil==1\n")
    env = {**os.environ, "PYTHON": sys.executable}
    for cmd in ([sys.executable, str(root / "bootstrap.py"), "verify"], [str(root / "serve")]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 1
        assert "model/requirements.txt: modified" in proc.stderr
    assert not (root / ".env").exists()  # refused before creating anything


def test_hostile_bundle_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tf:
        info = tarfile.TarInfo("bundle/../../escaped.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(UnsafeArchiveError, match="'..'"):
        unpack(evil, tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists()
    assert list((tmp_path / "target").iterdir()) == []


def test_unpack_does_not_overwrite(tmp_path: Path, bundle_archive: Path) -> None:
    unpack(bundle_archive, tmp_path)
    with pytest.raises(ModelpackError, match="already exists"):
        unpack(bundle_archive, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["taxi-1"]


def test_install_never_deletes_a_folder_that_is_not_an_environment(
    tmp_path: Path, bundle_archive: Path
) -> None:
    root = unpack(bundle_archive, tmp_path)
    mine = tmp_path / "important"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    proc = subprocess.run(
        [sys.executable, str(root / "bootstrap.py"), "install", "--env", str(mine)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "is not an environment" in proc.stderr
    assert (mine / "notes.txt").read_text() == "keep me"

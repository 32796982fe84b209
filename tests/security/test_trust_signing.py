"""Optional Ed25519 signatures of the manifest: keygen, sign, verify --key, and
load_model(..., require_signature=KEY) refusing unsigned, re-signed or edited models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack._signing import generate_key, sign_model
from modelpack.exceptions import IntegrityError

pytest.importorskip("cryptography")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelpack", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    return generate_key(tmp_path / "signing.pem")


def test_keygen_writes_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    result = _cli("keygen", str(tmp_path / "k.pem"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert b"PUBLIC KEY" in (tmp_path / "k.pem.pub").read_bytes()


def test_signed_model_loads(taxi_model_dir: Path, keys: tuple[Path, Path], taxi: Any) -> None:
    private, public = keys
    result = _cli("sign", str(taxi_model_dir), "--key", str(private))
    assert result.returncode == 0, result.stderr
    frame, _, _ = taxi
    model = modelpack.load_model(taxi_model_dir, require_signature=public)
    assert len(model.predict(frame.head(2))) == 2
    assert modelpack.load_model(taxi_model_dir, require_signature=public.read_bytes())
    verified = _cli("verify", str(taxi_model_dir), "--key", str(public))
    assert verified.returncode == 0 and "signature valid" in verified.stdout
    # the signature file is not a model file: plain verify stays OK
    assert _cli("verify", str(taxi_model_dir)).returncode == 0


def test_unsigned_model_is_refused(taxi_model_dir: Path, keys: tuple[Path, Path]) -> None:
    with pytest.raises(IntegrityError, match="not signed") as info:
        modelpack.load_model(taxi_model_dir, require_signature=keys[1])
    assert info.value.path == "MLmodel.sig"
    result = _cli("verify", str(taxi_model_dir), "--key", str(keys[1]))
    assert result.returncode != 0 and "not signed" in result.stderr


def test_other_key_is_refused(
    taxi_model_dir: Path, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    other, _ = generate_key(tmp_path / "other.pem")
    sign_model(taxi_model_dir, other)
    with pytest.raises(IntegrityError, match="does not match"):
        modelpack.load_model(taxi_model_dir, require_signature=keys[1])


def test_edited_manifest_is_refused(taxi_model_dir: Path, keys: tuple[Path, Path]) -> None:
    sign_model(taxi_model_dir, keys[0])
    text = (taxi_model_dir / "MLmodel").read_text()
    (taxi_model_dir / "MLmodel").write_text(text.replace("run_id", "run_id_x", 1) + "\n")
    with pytest.raises(IntegrityError, match="does not match"):
        modelpack.load_model(taxi_model_dir, require_signature=keys[1])


def test_signature_file_that_is_a_fifo(taxi_model_dir: Path, keys: tuple[Path, Path]) -> None:
    os.mkfifo(taxi_model_dir / "MLmodel.sig")
    with pytest.raises(IntegrityError, match="not a signature file"):
        modelpack.load_model(taxi_model_dir, require_signature=keys[1])


def test_openssl_keys_work(taxi_model_dir: Path, tmp_path: Path) -> None:
    openssl = subprocess.run(["which", "openssl"], capture_output=True, text=True).stdout.strip()
    if not openssl:
        pytest.skip("openssl is not installed")
    key = tmp_path / "ossl.pem"
    subprocess.run([openssl, "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True)
    pub = tmp_path / "ossl.pub"
    subprocess.run([openssl, "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True)
    sign_model(taxi_model_dir, key)
    assert modelpack.sklearn.load_model(taxi_model_dir, require_signature=pub) is not None


def test_sign_refuses_a_tampered_model(taxi_model_dir: Path, keys: tuple[Path, Path]) -> None:
    with open(taxi_model_dir / "model.skops", "ab") as f:
        f.write(b"\0")
    result = _cli("sign", str(taxi_model_dir), "--key", str(keys[0]))
    assert result.returncode == 1 and "model.skops" in result.stdout
    assert not (taxi_model_dir / "MLmodel.sig").exists()

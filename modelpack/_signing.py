"""Ed25519 signatures of a model's manifest: ``modelpack sign``, ``verify --key`` and
``load_model(..., require_signature=KEY)``.

The signature covers the exact bytes of ``MLmodel``, which carry every file's SHA-256 digest,
so a valid signature vouches for every file the digests cover. It is stored beside the
manifest as ``MLmodel.sig`` (base64 text), which the digests never list. Trust moves from the
directory to the key: whoever holds the private key can sign anything, and a signature says
nothing about files a loader opens without a digest (modelpack opens none in its own format).

Keys are PEM files as ``openssl genpkey -algorithm ed25519`` writes them (or ``modelpack
keygen``): a PKCS#8 private key, and its public key as SubjectPublicKeyInfo. Needs the
``cryptography`` package (``pip install "modelpack[sign]"``).
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Any

from modelpack._integrity import SIGNATURE_FILE
from modelpack._manifest import read_manifest_bytes
from modelpack._optional import require
from modelpack.exceptions import IntegrityError

__all__ = ["KeySource", "generate_key", "sign_model", "verify_signature"]

#: a key given as a path to a PEM file, or as the PEM (or raw 32-byte) key itself
KeySource = str | os.PathLike[str] | bytes

_MAX_SIGNATURE_FILE = 4096


def _crypto(purpose: str) -> Any:
    require("cryptography", "sign", purpose=purpose)
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def _key_bytes(key: KeySource) -> bytes:
    if isinstance(key, bytes):
        return key
    return Path(key).expanduser().read_bytes()


def _load_private(key: KeySource) -> Any:
    ed25519 = _crypto("signing a model")
    from cryptography.hazmat.primitives import serialization

    data = _key_bytes(key)
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"cannot read the private key: {e}; give an unencrypted PEM Ed25519 key "
            "(openssl genpkey -algorithm ed25519 -out key.pem, or modelpack keygen)"
        ) from e
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise ValueError("the private key is not an Ed25519 key; modelpack signs with Ed25519")
    return private


def _load_public(key: KeySource) -> Any:
    ed25519 = _crypto("checking a model's signature")
    from cryptography.hazmat.primitives import serialization

    data = _key_bytes(key)
    if len(data) == 32:
        return ed25519.Ed25519PublicKey.from_public_bytes(data)
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        try:  # a private key also names its public key
            public = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as e:
            raise ValueError(
                f"cannot read the public key: {e}; give a PEM Ed25519 public key "
                "(openssl pkey -in key.pem -pubout -out key.pub)"
            ) from e
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key; modelpack signs with Ed25519")
    return public


def generate_key(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new private key to ``path`` (mode 0600) and its public key to ``path.pub``."""
    ed25519 = _crypto("generating a signing key")
    from cryptography.hazmat.primitives import serialization

    private = ed25519.Ed25519PrivateKey.generate()
    target = Path(path)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = target.with_name(target.name + ".pub")
    public.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return target, public


def sign_model(model_dir: str | os.PathLike[str], key: KeySource) -> Path:
    """Sign the model's ``MLmodel`` with a private key; return the signature file."""
    private = _load_private(key)
    data = read_manifest_bytes(Path(model_dir))
    path = Path(model_dir) / SIGNATURE_FILE
    path.write_text(base64.b64encode(private.sign(data)).decode("ascii") + "\n")
    return path


def _read_signature(model_dir: Path) -> bytes:
    path = model_dir / SIGNATURE_FILE
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise IntegrityError(
            f"the model at {model_dir} is not signed (no {SIGNATURE_FILE}), and a signature "
            "is required; sign it with 'modelpack sign' using the key you trust",
            path=SIGNATURE_FILE,
        ) from None
    if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_SIGNATURE_FILE:
        raise IntegrityError(
            f"{path} is not a signature file (not a small regular file)", path=SIGNATURE_FILE
        )
    try:
        return base64.b64decode(path.read_bytes().strip(), validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError(f"{path} is not a base64 signature", path=SIGNATURE_FILE) from None


def verify_signature(
    model_dir: str | os.PathLike[str], key: KeySource, manifest_bytes: bytes | None = None
) -> None:
    """Raise :class:`IntegrityError` unless ``MLmodel.sig`` is a valid signature of the
    manifest (``manifest_bytes``: the bytes already read, so the check covers what is used)."""
    public = _load_public(key)
    from cryptography.exceptions import InvalidSignature

    root = Path(model_dir)
    data = read_manifest_bytes(root) if manifest_bytes is None else manifest_bytes
    signature = _read_signature(root)
    try:
        public.verify(signature, data)
    except InvalidSignature:
        raise IntegrityError(
            f"the signature of the model at {root} does not match its MLmodel with the given "
            "key: the manifest was changed after signing, or it was signed with another key",
            path=SIGNATURE_FILE,
        ) from None

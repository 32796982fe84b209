"""Trust anchored outside the model directory: the MLmodel digest the store recorded.

The digests inside a model directory prove nothing against someone who can write the
directory: they rewrite the digests too. So the store records the sha256 of ``MLmodel`` (which
lists the digest of every other file) when a model enters it, in its database rather than
among the model's files:

- a registered version: the registry's ``model_version_digests`` record, written by
  ``register_model`` (:func:`version_anchor` reads it);
- a model logged in a run: the run tag ``modelpack.manifest_sha256/<artifact path>``, written
  by ``log_model`` (:func:`logged_model_tags`, :func:`run_anchor`).

Loading by ``models:/`` or ``runs:/`` compares the very ``MLmodel`` bytes it then parses with
that record before anything else is read (:func:`check_anchor`), so a model whose files were
swapped in the artifact store afterwards is an :class:`IntegrityError`. A model recorded before
these records existed has none and loads as before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from modelpack._manifest import MLMODEL_FILE, read_manifest_bytes
from modelpack.exceptions import IntegrityError

if TYPE_CHECKING:
    from modelpack._store import ModelVersion, Run, Store

__all__ = [
    "RUN_DIGEST_TAG",
    "Anchor",
    "check_anchor",
    "logged_model_tags",
    "manifest_sha256",
    "run_anchor",
    "run_digest_tag",
    "version_anchor",
]

#: the prefix of the run tag holding a logged model's MLmodel digest: ``<prefix>/<path>``
RUN_DIGEST_TAG = "modelpack.manifest_sha256"


@dataclass(frozen=True)
class Anchor:
    """A recorded MLmodel digest, and how to name the model it belongs to in a refusal."""

    digest: str
    what: str  # "version 1 of registered model 'm'"
    when: str  # "registered"
    fix: str  # "register the model again"


def manifest_sha256(data: bytes) -> str:
    """The hex sha256 of MLmodel's bytes: what every anchor records."""
    return hashlib.sha256(data).hexdigest()


def run_digest_tag(artifact_path: str) -> str:
    """The run tag recording the digest of the model logged at ``artifact_path``."""
    parts = [p for p in PurePosixPath(artifact_path.replace("\\", "/")).parts if p not in ("", ".")]
    return f"{RUN_DIGEST_TAG}/{'/'.join(parts)}"


def logged_model_tags(artifact_path: str, model_dir: Path) -> dict[str, str]:
    """The run tag ``log_model`` writes for the model it just saved into ``model_dir``."""
    return {run_digest_tag(artifact_path): manifest_sha256(read_manifest_bytes(model_dir))}


def run_anchor(run: Run, artifact_path: str) -> Anchor | None:
    """The digest recorded when the model at ``artifact_path`` was logged in ``run``, if any."""
    digest = run.data.tags.get(run_digest_tag(artifact_path))
    if not digest:
        return None
    return Anchor(
        digest,
        f"the model logged in run {run.info.run_id} at {artifact_path!r}",
        "logged",
        "log the model again",
    )


def version_anchor(store: Store, version: ModelVersion) -> Anchor | None:
    """The digest recorded when ``version`` was registered, if the store has one."""
    digest = store.get_manifest_digest(version.name, version.version)
    if digest is None:
        return None
    return Anchor(
        digest,
        f"version {version.version} of registered model {version.name!r}",
        "registered",
        "register the model again",
    )


def check_anchor(data: bytes, anchor: Anchor) -> None:
    """Refuse MLmodel bytes that differ from the recorded digest (nothing has been read yet)."""
    if manifest_sha256(data) != anchor.digest:
        raise IntegrityError(
            f"{anchor.what}: its MLmodel differs from the one recorded when it was "
            f"{anchor.when}, so its files were replaced in the artifact store afterwards; "
            f"nothing was loaded. Restore the files or {anchor.fix}.",
            path=MLMODEL_FILE,
        )

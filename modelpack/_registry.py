"""The model registry: named models, numbered versions, aliases, stages, descriptions, tags.

A version points at a model directory in the store's artifact area: a model logged in a run
is referenced where it is; a model registered from a path outside the store is first copied
in (atomically), so deleting or editing the original never changes a registered version.
Version numbers start at 1, are never reused, and stay gap-free when processes register
concurrently (the store allocates them under the database write lock).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._store import NewVersion, canonical_stage, get_store
from modelpack._uri import model_version_for, parse_uri, resolve_in_store, resolve_uri
from modelpack.exceptions import ModelNotFoundError, StoreError

if TYPE_CHECKING:
    from modelpack._store import ModelVersion, RegisteredModel, Store

__all__ = [
    "create_registered_model",
    "delete_alias",
    "delete_model_version",
    "delete_model_version_tag",
    "delete_registered_model",
    "delete_registered_model_tag",
    "get_latest_versions",
    "get_model_version",
    "get_model_version_by_alias",
    "check_model_name",
    "get_registered_model",
    "register_in_store",
    "register_model",
    "search_model_versions",
    "search_registered_models",
    "set_alias",
    "set_model_version_tag",
    "set_registered_model_tag",
    "transition_model_version_stage",
    "update_model_version",
    "update_registered_model",
]

REGISTERED_DIR = "registered"


def check_model_name(name: Any) -> str:
    """``name`` if it can be a registered model's name, else a StoreError saying why."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise StoreError(f"a registered model name must be a non-empty string, got {name!r}")
    if "/" in name or "@" in name:
        raise StoreError(
            f"invalid registered model name {name!r}: '/' and '@' are reserved for "
            "models:/<name>/<version> and models:/<name>@<alias> URIs"
        )
    return name


def _alias(alias: Any) -> str:
    text = str(alias).strip()
    if not text or text != alias or any(c in text for c in "/@ \t"):
        raise StoreError(f"invalid alias {alias!r}: use letters, digits, '-', '_' or '.'")
    if text.isdigit() or text.lower() == "latest":
        raise StoreError(
            f"invalid alias {alias!r}: it would read as a version number or 'latest' in "
            "models:/ URIs; pick a word such as 'champion'"
        )
    return text


def _stage(stage: Any) -> str:
    try:
        return canonical_stage(stage)
    except ValueError as e:
        raise StoreError(str(e)) from e


# ---------------------------------------------------------------------- registering
def _copy_into_store(store: Store, source: Path) -> str:
    """Copy a model directory into the store; the rename makes it appear complete or not at all."""
    folder = store.artifact_root / REGISTERED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    key = uuid.uuid4().hex
    tmp = folder / f".{key}.copying"
    try:
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns(".*.saving-*"))
        os.replace(tmp, folder / key)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return f"{REGISTERED_DIR}/{key}"


def _storage_of(store: Store, model_uri: str) -> tuple[str, str | None]:
    """Where the version will load from (relative to the artifact root), and its run."""
    from modelpack._manifest import read_manifest

    parsed = parse_uri(model_uri)
    if parsed.kind == "models":
        existing = model_version_for(store, parsed)
        return store.storage_location(Path(existing.storage_location)), existing.run_id
    path = resolve_in_store(store, parsed) if parsed.kind == "runs" else resolve_uri(parsed.raw)
    if not (path / "MLmodel").is_file():
        raise ModelNotFoundError(
            f"{model_uri} is not a model directory (no MLmodel file in {path})", uri=model_uri
        )
    if parsed.kind == "runs":
        return store.storage_location(path), parsed.run_id
    run_id = read_manifest(path).run_id
    location = store.storage_location(path)
    if os.path.isabs(location):
        location = _copy_into_store(store, path)
    return location, run_id


def register_in_store(
    store: Store,
    model_uri: str,
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """:func:`register_model` into a given store."""
    name = check_model_name(name)
    location, run_id = _storage_of(store, str(model_uri))
    return store.create_model_version(
        NewVersion(
            name=name,
            source=str(model_uri),
            storage_location=location,
            run_id=run_id,
            description=description,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
        )
    )


def register_model(
    model_uri: str | os.PathLike[str],
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register a model as the next version of ``name`` (creating ``name`` if new).

    Parameters
    ----------
    model_uri : str or path
        ``runs:/<run_id>/<path>``, ``models:/...`` (registers the same files again), or a
        path / ``file://`` to a model directory (copied into the store).
    name : str
        The registered model's name (no ``/`` or ``@``).
    tags : dict, optional
        Tags for the new version.
    description : str, optional
        The new version's description.

    Returns
    -------
    ModelVersion
        ``version`` is 1 for a new name, then 2, 3, ...
    """
    return register_in_store(
        get_store(), os.fspath(model_uri), name, tags=tags, description=description
    )


# ---------------------------------------------------------------------- registered models
def create_registered_model(
    name: str, *, description: str | None = None, tags: Mapping[str, Any] | None = None
) -> RegisteredModel:
    """Create an empty registered model (``register_model`` also creates one on first use)."""
    tag_map = {str(k): str(v) for k, v in (tags or {}).items()}
    return get_store().create_registered_model(
        check_model_name(name), description=description, tags=tag_map
    )


def get_registered_model(name: str) -> RegisteredModel:
    """A registered model with its tags, aliases and newest version per stage."""
    return get_store().get_registered_model(name)


def search_registered_models(name_like: str | None = None) -> list[RegisteredModel]:
    """Every registered model, or those whose name matches a LIKE pattern (``'taxi%'``)."""
    return get_store().search_registered_models(name_like)


def update_registered_model(name: str, *, description: str | None) -> RegisteredModel:
    """Set a registered model's description."""
    store = get_store()
    store.update_registered_model(name, description=description)
    return store.get_registered_model(name)


def delete_registered_model(name: str) -> None:
    """Delete a registered model with its versions, aliases and tags.

    The model files stay in their runs' artifact folders.
    """
    get_store().delete_registered_model(name)


def set_registered_model_tag(name: str, key: str, value: Any) -> None:
    """Set a tag on a registered model."""
    get_store().set_registered_model_tag(name, str(key), str(value))


def delete_registered_model_tag(name: str, key: str) -> None:
    """Remove a tag from a registered model."""
    get_store().set_registered_model_tag(name, str(key), None)


# ---------------------------------------------------------------------- versions
def get_model_version(name: str, version: int | str) -> ModelVersion:
    """One version of a registered model."""
    return get_store().get_model_version(name, _version(version))


def get_model_version_by_alias(name: str, alias: str) -> ModelVersion:
    """The version an alias currently points at."""
    return get_store().get_model_version_by_alias(name, alias)


def get_latest_versions(name: str, stages: list[str] | None = None) -> list[ModelVersion]:
    """The newest version in each stage (only the given ``stages`` when set)."""
    model = get_store().get_registered_model(name)
    wanted = {_stage(s) for s in stages} if stages else None
    return [v for v in model.latest_versions if wanted is None or v.current_stage in wanted]


def search_model_versions(name: str | None = None) -> list[ModelVersion]:
    """The versions of one registered model (of all models when ``name`` is None)."""
    return get_store().search_model_versions(name)


def update_model_version(name: str, version: int | str, *, description: str | None) -> ModelVersion:
    """Set a version's description."""
    store = get_store()
    store.update_model_version(name, _version(version), description=description)
    return store.get_model_version(name, _version(version))


def delete_model_version(name: str, version: int | str) -> None:
    """Delete one version (and its aliases); its number is not reused. Files stay."""
    get_store().delete_model_version(name, _version(version))


def set_model_version_tag(name: str, version: int | str, key: str, value: Any) -> None:
    """Set a tag on one version."""
    get_store().set_model_version_tag(name, _version(version), str(key), str(value))


def delete_model_version_tag(name: str, version: int | str, key: str) -> None:
    """Remove a tag from one version."""
    get_store().set_model_version_tag(name, _version(version), str(key), None)


def set_alias(name: str, alias: str, version: int | str) -> None:
    """Point ``models:/<name>@<alias>`` at ``version``, moving the alias if it exists."""
    get_store().set_alias(name, _alias(alias), _version(version))


def delete_alias(name: str, alias: str) -> None:
    """Remove an alias."""
    get_store().delete_alias(name, alias)


def transition_model_version_stage(
    name: str,
    version: int | str,
    stage: str,
    *,
    archive_existing_versions: bool = False,
) -> ModelVersion:
    """Move a version to a stage: ``None``, ``Staging``, ``Production`` or ``Archived``.

    Parameters
    ----------
    name : str
        The registered model.
    version : int
        The version to move.
    stage : str
        The new stage, in any case (``"production"`` is ``Production``).
    archive_existing_versions : bool
        Move the other versions now in that stage to ``Archived`` (Staging and Production
        only).

    Returns
    -------
    ModelVersion
        The moved version; ``models:/<name>/<stage>`` resolves to the newest version in it.
    """
    canonical = _stage(stage)
    if archive_existing_versions and canonical not in ("Staging", "Production"):
        raise StoreError(
            f"archive_existing_versions applies to Staging and Production, not {canonical}"
        )
    return get_store().transition_stage(
        name, _version(version), canonical, archive_existing=archive_existing_versions
    )


def _version(version: int | str) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError) as e:
        raise StoreError(f"a version is a positive integer, got {version!r}") from e
    if number < 1 or str(number) != str(version).strip():
        raise StoreError(f"a version is a positive integer, got {version!r}")
    return number

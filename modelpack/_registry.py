"""The model registry: named models, numbered versions, aliases, stages, descriptions, tags.

One implementation with MLflow's names, signatures and return shapes: :class:`Registry` holds
the operations as ``MlflowClient`` has them. ``RegistryClient`` (``modelpack._client``) is a
``Registry`` over the store its URIs name, and the module-level functions here
(``modelpack.get_model_version``, ...) are the methods of one ``Registry`` over the store in
effect. Where MLflow's module-level function differs from its client method
(``register_model``, ``search_registered_models``, ``search_model_versions``), both exist, each
with MLflow's signature. ``set_alias``/``delete_alias`` are modelpack's short names for
``set_registered_model_alias``/``delete_registered_model_alias``.

Where a version's files come from (a run, another version, a path copied into the store) is
``_registry_files``'s part. Version numbers start at 1, are never reused, and stay gap-free
when processes register concurrently (the store allocates them under the database write lock).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from modelpack._registry_files import manifest_digest_at, storage_of, storage_of_source
from modelpack._store import NewVersion, RegistryValueError, canonical_stage, get_store
from modelpack._uri import model_version_for, parse_uri

if TYPE_CHECKING:
    from modelpack._store import ModelVersion, PagedList, RegisteredModel, Store

__all__ = [
    "Registry",
    "check_model_name",
    "copy_model_version",
    "create_model_version",
    "create_registered_model",
    "delete_alias",
    "delete_model_version",
    "delete_model_version_tag",
    "delete_registered_model",
    "delete_registered_model_alias",
    "delete_registered_model_tag",
    "get_latest_versions",
    "get_model_version",
    "get_model_version_by_alias",
    "get_model_version_download_uri",
    "get_registered_model",
    "register_in_store",
    "register_model",
    "rename_registered_model",
    "search_model_versions",
    "search_registered_models",
    "set_alias",
    "set_model_version_tag",
    "set_registered_model_alias",
    "set_registered_model_tag",
    "transition_model_version_stage",
    "update_model_version",
    "update_registered_model",
]

_ALIAS = re.compile(r"[A-Za-z0-9_-]+")
_T = TypeVar("_T")


# ---------------------------------------------------------------------- checking arguments
def check_model_name(name: Any) -> str:
    """``name`` if it can be a registered model's name, else a RegistryValueError saying why."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise RegistryValueError(
            f"a registered model name must be a non-empty string without surrounding spaces, "
            f"got {name!r}"
        )
    if "/" in name or "@" in name:
        raise RegistryValueError(
            f"invalid registered model name {name!r}: '/' and '@' are reserved for "
            "models:/<name>/<version> and models:/<name>@<alias> URIs"
        )
    return name


def _alias(alias: Any) -> str:
    text = alias if isinstance(alias, str) else ""
    if not _ALIAS.fullmatch(text) or len(text) > 255:
        raise RegistryValueError(
            f"invalid alias {alias!r}: use up to 255 letters, digits, '_' or '-' (e.g. 'champion')"
        )
    if text.isdigit() or text.lower() == "latest" or re.fullmatch(r"[vV]\d+", text):
        raise RegistryValueError(
            f"invalid alias {alias!r}: it would read as a version number or 'latest' in "
            "models:/ URIs; pick a word such as 'champion'"
        )
    return text


def _stage(stage: Any) -> str:
    try:
        return canonical_stage(stage)
    except ValueError as e:
        raise RegistryValueError(str(e)) from e


def _version(version: Any) -> int:
    """A version number as given: 3, "3" or 3.0 (what MLflow accepts)."""
    if isinstance(version, float) and version.is_integer():
        return int(version)
    if isinstance(version, int) and not isinstance(version, bool):
        return version
    if isinstance(version, str) and re.fullmatch(r"\s*[-+]?\d+\s*", version):
        return int(version)
    raise RegistryValueError(f"a version is a whole number such as 3 or '3', got {version!r}")


def _tags(tags: Mapping[Any, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (tags or {}).items()}


def _all_pages(
    fetch: Callable[[int, str | None], PagedList[_T]], max_results: Any, page_size: int
) -> list[_T]:
    """Every result of a paged search, or the first ``max_results`` (MLflow's fluent search)."""
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int)
    ):
        raise RegistryValueError(
            f"max_results is a number (the first parameter, as in MLflow), got {max_results!r}; "
            "pass the filter by name: filter_string=\"name = 'my-model'\""
        )
    found: list[_T] = []
    token: str | None = None
    while max_results is None or len(found) < max_results:
        want = page_size if max_results is None else min(page_size, max_results - len(found))
        page = fetch(want, token)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def register_in_store(
    store: Store,
    model_uri: str,
    name: str,
    *,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    runs: Store | None = None,
) -> ModelVersion:
    """:func:`register_model` into a given store (``runs:/`` URIs read from ``runs``)."""
    name = check_model_name(name)
    location, run_id = storage_of(store, str(model_uri), runs)
    return store.create_model_version(
        NewVersion(
            name=name,
            source=str(model_uri),
            storage_location=location,
            run_id=run_id,
            description=description,
            tags=_tags(tags),
            manifest_digest=manifest_digest_at(store, location),
        )
    )


def register_model(
    model_uri: str | os.PathLike[str],
    name: str,
    await_registration_for: int = 300,
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
    await_registration_for : int
        Accepted for MLflow's signature; registration here is complete on return.
    tags : dict, optional
        Tags for the new version (values become strings).
    description : str, optional
        The new version's description.

    Returns
    -------
    ModelVersion
        ``version`` is 1 for a new name, then 2, 3, ...; ``status`` is ``READY``.
    """
    return register_in_store(
        get_store(), os.fspath(model_uri), name, tags=tags, description=description
    )


# ---------------------------------------------------------------------- the operations
class Registry:
    """The registry operations, with ``MlflowClient``'s names, signatures and return shapes.

    Every method works on :attr:`_registry_store`: here the store in effect when it is called
    (``set_store_uri`` / ``set_tracking_uri``); ``RegistryClient`` overrides it with the store
    its URIs name. Lookups of an absent model, version or alias raise ``ModelNotFoundError``
    (``RESOURCE_DOES_NOT_EXIST``), a taken name ``ModelExistsError``
    (``RESOURCE_ALREADY_EXISTS``), an unusable argument ``RegistryValueError``
    (``INVALID_PARAMETER_VALUE``); each message names what exists.
    """

    @property
    def _store(self) -> Store:
        """Where ``runs:/`` URIs are looked up (the tracking store)."""
        return get_store()

    @property
    def _registry_store(self) -> Store:
        """Where registered models live."""
        return get_store()

    # ------------------------------------------------------------------ registered models
    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, Any] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        """Create a registered model without versions (``register_model`` also creates one)."""
        return self._registry_store.create_registered_model(
            check_model_name(name), description=description, tags=_tags(tags)
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags, aliases and newest version per stage."""
        return self._registry_store.get_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of registered models; ``.token`` of the result fetches the next page.

        Parameters
        ----------
        filter_string : str, optional
            Conditions on ``name`` and ``tags.<key>`` joined by ``and``, e.g.
            ``"name LIKE 'taxi-%' and tags.team = 'ml'"``.
        max_results : int
            The page size (at most 1000).
        order_by : list of str, optional
            ``name``, ``creation_timestamp`` or ``last_updated_timestamp``, each ``ASC`` or
            ``DESC``; by name when not given.
        page_token : str, optional
            The ``.token`` of the previous page.
        """
        return self._registry_store.search_registered_models(
            filter_string, max_results, order_by, page_token
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; versions, aliases and tags follow, and ``models:/<new_name>/...``
        resolves while the old name no longer does."""
        return self._registry_store.rename_registered_model(name, check_model_name(new_name))

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set a registered model's description (None clears it, as in MLflow)."""
        store = self._registry_store
        store.update_registered_model(name, description=description)
        return store.get_registered_model(name)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, aliases and tags.

        The model files stay in their runs' artifact folders.
        """
        self._registry_store.delete_registered_model(name)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model (the value becomes a string)."""
        self._registry_store.set_registered_model_tag(name, str(key), str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model."""
        self._registry_store.set_registered_model_tag(name, str(key), None)

    # ------------------------------------------------------------------ versions
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
    ) -> ModelVersion:
        """Add a version to an existing registered model.

        Parameters
        ----------
        name : str
            The registered model (create it first, or use ``register_model``).
        source : str
            ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, a model directory, or
            the ``source`` of an existing version (the new version shares its files).
        run_id : str, optional
            The run the model came from (default: the run of ``source``, when known).
        tags, run_link, description : optional
            Recorded on the new version.
        await_creation_for : int
            Accepted for MLflow's signature; the version is ``READY`` on return.
        """
        store = self._registry_store
        location, source_run = storage_of_source(store, os.fspath(source), self._store)
        return store.create_model_version(
            NewVersion(
                name=check_model_name(name),
                source=os.fspath(source),
                storage_location=location,
                run_id=run_id if run_id is not None else source_run,
                description=description,
                tags=_tags(tags),
                run_link=run_link,
                create_model=False,
                manifest_digest=manifest_digest_at(store, location),
            )
        )

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Register the version ``src_model_uri`` names as the next version of ``dst_name``.

        ``dst_name`` is created when missing. The copy shares the files, run, description and
        tags of the source version (not its stage or aliases); its ``source`` is
        ``models:/<name>/<version>`` of the original.
        """
        parsed = parse_uri(str(src_model_uri))
        if parsed.kind != "models":
            raise RegistryValueError(
                f"copy_model_version copies a registered version: give models:/<name>/<version> "
                f"or models:/<name>@<alias>, not {src_model_uri!r} (register_model registers "
                "a run's model)"
            )
        store = self._registry_store
        src = model_version_for(store, parsed)
        return store.create_model_version(
            NewVersion(
                name=check_model_name(dst_name),
                source=f"models:/{src.name}/{src.version}",
                storage_location=store.storage_location(Path(src.storage_location)),
                run_id=src.run_id,
                description=src.description,
                tags=src.tags,
                run_link=src.run_link,
                manifest_digest=store.get_manifest_digest(src.name, src.version),
            )
        )

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version of a registered model (``version`` as a number or a string)."""
        return self._registry_store.get_model_version(name, _version(version))

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage (in the given ``stages`` only, when any)."""
        model = self._registry_store.get_registered_model(name)
        wanted = {_stage(s) for s in stages} if stages else None
        return [v for v in model.latest_versions if wanted is None or v.current_stage in wanted]

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions; ``.token`` of the result fetches the next page.

        Parameters
        ----------
        filter_string : str, optional
            Conditions on ``name``, ``run_id``, ``source_path``, ``version_number`` and
            ``tags.<key>`` joined by ``and``, e.g. ``"name = 'taxi' and tags.ok = 'yes'"``.
        max_results : int
            The page size (at most 200000).
        order_by : list of str, optional
            ``name``, ``version_number``, ``creation_timestamp`` or
            ``last_updated_timestamp``, each ``ASC`` or ``DESC``; most recently updated
            first when not given.
        page_token : str, optional
            The ``.token`` of the previous page.
        """
        return self._registry_store.search_model_versions(
            filter_string, max_results, order_by, page_token
        )

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        """Set a version's description."""
        if description is None:
            raise RegistryValueError(
                "update_model_version has nothing to change: pass description='...'"
            )
        store = self._registry_store
        store.update_model_version(name, _version(version), description=description)
        return store.get_model_version(name, _version(version))

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
    ) -> ModelVersion:
        """Move a version to a stage: ``None``, ``Staging``, ``Production`` or ``Archived``.

        Parameters
        ----------
        name, version
            The version to move.
        stage : str
            The new stage, in any case (``"production"`` is ``Production``).
        archive_existing_versions : bool
            Move the other versions now in that stage to ``Archived`` (Staging and
            Production only).

        Returns
        -------
        ModelVersion
            The moved version; ``models:/<name>/<stage>`` resolves to the newest one in it.
        """
        canonical = _stage(stage)
        if archive_existing_versions and canonical not in ("Staging", "Production"):
            raise RegistryValueError(
                f"archive_existing_versions applies to Staging and Production, not {canonical}"
            )
        return self._registry_store.transition_stage(
            name, _version(version), canonical, archive_existing=archive_existing_versions
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete one version (and its aliases); its number is not reused. Files stay."""
        self._registry_store.delete_model_version(name, _version(version))

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """The local directory holding the version's model files."""
        return self._registry_store.get_model_version(name, _version(version)).storage_location

    def _tag_target(self, name: str, version: Any, stage: str | None) -> int:
        if (version is None) == (stage is None):
            raise RegistryValueError("give the version of the tag, or a stage (not both)")
        if version is not None:
            return _version(version)
        return self._registry_store.get_latest_version(name, _stage(stage)).version

    def set_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        """Set a tag on a version (or on the newest version in ``stage``)."""
        if key is None:
            raise RegistryValueError("set_model_version_tag needs a key")
        number = self._tag_target(name, version, stage)
        self._registry_store.set_model_version_tag(name, number, str(key), str(value))

    def delete_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        """Remove a tag from a version (or from the newest version in ``stage``)."""
        if key is None:
            raise RegistryValueError("delete_model_version_tag needs a key")
        number = self._tag_target(name, version, stage)
        self._registry_store.set_model_version_tag(name, number, str(key), None)

    # ------------------------------------------------------------------ aliases
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``models:/<name>@<alias>`` at ``version``, moving the alias if it exists."""
        self._registry_store.set_alias(name, _alias(alias), _version(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self._registry_store.delete_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias currently points at."""
        return self._registry_store.get_model_version_by_alias(name, alias)


# ---------------------------------------------------------------------- module-level names
# The fluent API is the methods of one Registry over the store in effect (one implementation).
_registry = Registry()

create_registered_model = _registry.create_registered_model
get_registered_model = _registry.get_registered_model
rename_registered_model = _registry.rename_registered_model
update_registered_model = _registry.update_registered_model
delete_registered_model = _registry.delete_registered_model
set_registered_model_tag = _registry.set_registered_model_tag
delete_registered_model_tag = _registry.delete_registered_model_tag
create_model_version = _registry.create_model_version
copy_model_version = _registry.copy_model_version
get_model_version = _registry.get_model_version
get_latest_versions = _registry.get_latest_versions
update_model_version = _registry.update_model_version
transition_model_version_stage = _registry.transition_model_version_stage
delete_model_version = _registry.delete_model_version
get_model_version_download_uri = _registry.get_model_version_download_uri
set_model_version_tag = _registry.set_model_version_tag
delete_model_version_tag = _registry.delete_model_version_tag
set_registered_model_alias = _registry.set_registered_model_alias
delete_registered_model_alias = _registry.delete_registered_model_alias
get_model_version_by_alias = _registry.get_model_version_by_alias
#: modelpack's short names for the alias operations
set_alias = set_registered_model_alias
delete_alias = delete_registered_model_alias


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[RegisteredModel]:
    """Every registered model matching ``filter_string`` (the first ``max_results``).

    MLflow's module-level signature: ``max_results`` comes first, and all pages are read
    (``Registry.search_registered_models`` / the client return one page). The filter and
    order are those of :meth:`Registry.search_registered_models`.
    """
    return _all_pages(
        lambda size, token: _registry.search_registered_models(
            filter_string, size, order_by, token
        ),
        max_results,
        1000,
    )


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[ModelVersion]:
    """Every model version matching ``filter_string`` (the first ``max_results``).

    MLflow's module-level signature: ``max_results`` comes first, and all pages are read.
    ``search_model_versions(filter_string="name = 'taxi'", order_by=["version_number"])``
    lists one model's versions in order; the filter and order are those of
    :meth:`Registry.search_model_versions`.
    """
    return _all_pages(
        lambda size, token: _registry.search_model_versions(filter_string, size, order_by, token),
        max_results,
        10_000,
    )

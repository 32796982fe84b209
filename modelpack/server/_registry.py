"""The model registry: ``/api/2.0/mlflow/registered-models/...`` and ``model-versions/...``."""

from __future__ import annotations

from typing import Any

from modelpack._store import NewVersion, canonical_stage
from modelpack.server._errors import ApiError
from modelpack.server._logged_models import load_record, model_artifact_path
from modelpack.server._request import Args
from modelpack.server._wire import (
    ARTIFACTS_SCHEME,
    MODEL_ID_TAG,
    model_version_json,
    registered_model_json,
    run_artifact_path,
)

__all__ = ["ROUTES"]

_RM = "/api/2.0/mlflow/registered-models"
_MV = "/api/2.0/mlflow/model-versions"


def _version(args: Args) -> int:
    text = args.text("version", required=True)
    try:
        number = int(text)
    except ValueError:
        raise ApiError(f"version must be a positive integer, got {text!r}") from None
    if number < 1:
        raise ApiError(f"version must be a positive integer, got {text!r}")
    return number


def _name(args: Args) -> str:
    return str(args.text("name", required=True))


def _page(found: Any, key: str, convert: Any) -> dict[str, Any]:
    out: dict[str, Any] = {key: [convert(x) for x in found]}
    if found.token:
        out["next_page_token"] = found.token
    return out


# ---------------------------------------------------------------- registered models
def create_registered_model(server: Any, args: Args) -> dict[str, Any]:
    rm = server.store.create_registered_model(
        _name(args), description=args.text("description") or None, tags=args.pairs("tags")
    )
    return {"registered_model": registered_model_json(rm)}


def get_registered_model(server: Any, args: Args) -> dict[str, Any]:
    return {
        "registered_model": registered_model_json(server.store.get_registered_model(_name(args)))
    }


def rename_registered_model(server: Any, args: Args) -> dict[str, Any]:
    rm = server.store.rename_registered_model(_name(args), args.text("new_name", required=True))
    return {"registered_model": registered_model_json(rm)}


def update_registered_model(server: Any, args: Args) -> dict[str, Any]:
    name = _name(args)
    server.store.update_registered_model(name, description=args.text("description"))
    return {"registered_model": registered_model_json(server.store.get_registered_model(name))}


def delete_registered_model(server: Any, args: Args) -> dict[str, Any]:
    server.store.delete_registered_model(_name(args))
    return {}


def search_registered_models(server: Any, args: Args) -> dict[str, Any]:
    found = server.store.search_registered_models(
        filter_string=args.text("filter") or None,
        max_results=args.integer("max_results", default=100),
        order_by=args.strings("order_by") or None,
        page_token=args.text("page_token") or None,
    )
    return _page(found, "registered_models", registered_model_json)


def get_latest_versions(server: Any, args: Args) -> dict[str, Any]:
    rm = server.store.get_registered_model(_name(args))
    stages = {canonical_stage(s) for s in args.strings("stages")}
    versions = [v for v in rm.latest_versions if not stages or v.current_stage in stages]
    return {"model_versions": [model_version_json(v) for v in versions]}


def set_registered_model_tag(server: Any, args: Args) -> dict[str, Any]:
    server.store.set_registered_model_tag(
        _name(args), args.text("key", required=True), args.text("value", default="")
    )
    return {}


def delete_registered_model_tag(server: Any, args: Args) -> dict[str, Any]:
    server.store.set_registered_model_tag(_name(args), args.text("key", required=True), None)
    return {}


def set_alias(server: Any, args: Args) -> dict[str, Any]:
    server.store.set_alias(_name(args), args.text("alias", required=True), _version(args))
    return {}


def delete_alias(server: Any, args: Args) -> dict[str, Any]:
    server.store.delete_alias(_name(args), args.text("alias", required=True))
    return {}


def get_by_alias(server: Any, args: Args) -> dict[str, Any]:
    mv = server.store.get_model_version_by_alias(_name(args), args.text("alias", required=True))
    return {"model_version": model_version_json(mv)}


# ---------------------------------------------------------------- versions
def _artifact_path(server: Any, source: str, model_id: str | None) -> str | None:
    """Where under the artifacts destination a version's files are, when the source is there."""
    if model_id:
        info = load_record(server, model_id)["info"]
        return model_artifact_path(info["experiment_id"], model_id)
    if source.startswith(ARTIFACTS_SCHEME):
        rest = source[len(ARTIFACTS_SCHEME) :]
        if rest.startswith("//"):  # mlflow-artifacts://host:port/path
            rest = rest[2:].partition("/")[2]
        return rest.strip("/")
    if source.startswith("runs:/"):
        run_id, _, sub = source[len("runs:/") :].strip("/").partition("/")
        run = server.store.get_run(run_id)
        root = run_artifact_path(run.info.experiment_id, run_id)
        return f"{root}/{sub}".rstrip("/")
    return None


def _model_id_of(source: str, given: str | None) -> str | None:
    if given:
        return given
    rest = source[len("models:/") :] if source.startswith("models:/") else ""
    return rest if rest.startswith("m-") and "/" not in rest else None


def create_model_version(server: Any, args: Args) -> dict[str, Any]:
    from modelpack._storage._base import clean_path

    name, source = _name(args), args.text("source", required=True)
    model_id = _model_id_of(source, args.text("model_id") or None)
    path = _artifact_path(server, source, model_id)
    if path is None:
        location = source  # a location the client's modelpack reads directly (s3://, a path)
    else:
        location = server.storage.uri_for(clean_path(path, what="model source"))
    tags = args.pairs("tags")
    if model_id:
        tags[MODEL_ID_TAG] = model_id
    run_id = args.text("run_id") or None
    if run_id is None and model_id:
        run_id = load_record(server, model_id)["info"].get("source_run_id")
    mv = server.store.create_model_version(
        NewVersion(
            name=name,
            source=source,
            storage_location=location,
            run_id=run_id,
            description=args.text("description") or None,
            tags=tags,
            run_link=args.text("run_link") or None,
            create_model=False,
        )
    )
    return {"model_version": model_version_json(mv)}


def get_model_version(server: Any, args: Args) -> dict[str, Any]:
    return {
        "model_version": model_version_json(
            server.store.get_model_version(_name(args), _version(args))
        )
    }


def update_model_version(server: Any, args: Args) -> dict[str, Any]:
    name, version = _name(args), _version(args)
    server.store.update_model_version(name, version, description=args.text("description"))
    return {"model_version": model_version_json(server.store.get_model_version(name, version))}


def delete_model_version(server: Any, args: Args) -> dict[str, Any]:
    server.store.delete_model_version(_name(args), _version(args))
    return {}


def transition_stage(server: Any, args: Args) -> dict[str, Any]:
    mv = server.store.transition_stage(
        _name(args),
        _version(args),
        canonical_stage(args.text("stage", required=True)),
        archive_existing=args.boolean("archive_existing_versions"),
    )
    return {"model_version": model_version_json(mv)}


def search_model_versions(server: Any, args: Args) -> dict[str, Any]:
    found = server.store.search_model_versions(
        filter_string=args.text("filter") or None,
        max_results=args.integer("max_results", default=10_000),
        order_by=args.strings("order_by") or None,
        page_token=args.text("page_token") or None,
    )
    return _page(found, "model_versions", model_version_json)


def get_download_uri(server: Any, args: Args) -> dict[str, Any]:
    mv = server.store.get_model_version(_name(args), _version(args))
    path = _artifact_path(server, mv.source, mv.tags.get(MODEL_ID_TAG))
    return {"artifact_uri": mv.source if path is None else f"{ARTIFACTS_SCHEME}/{path}"}


def set_model_version_tag(server: Any, args: Args) -> dict[str, Any]:
    server.store.set_model_version_tag(
        _name(args), _version(args), args.text("key", required=True), args.text("value", default="")
    )
    return {}


def delete_model_version_tag(server: Any, args: Args) -> dict[str, Any]:
    server.store.set_model_version_tag(
        _name(args), _version(args), args.text("key", required=True), None
    )
    return {}


ROUTES: list[tuple[str, list[str], Any]] = [
    (f"{_RM}/create", ["POST"], create_registered_model),
    (f"{_RM}/get", ["GET"], get_registered_model),
    (f"{_RM}/rename", ["POST"], rename_registered_model),
    (f"{_RM}/update", ["PATCH"], update_registered_model),
    (f"{_RM}/delete", ["DELETE"], delete_registered_model),
    (f"{_RM}/search", ["GET"], search_registered_models),
    (f"{_RM}/get-latest-versions", ["GET", "POST"], get_latest_versions),
    (f"{_RM}/set-tag", ["POST"], set_registered_model_tag),
    (f"{_RM}/delete-tag", ["DELETE"], delete_registered_model_tag),
    (f"{_RM}/alias", ["POST"], set_alias),
    (f"{_RM}/alias", ["DELETE"], delete_alias),
    (f"{_RM}/alias", ["GET"], get_by_alias),
    (f"{_MV}/create", ["POST"], create_model_version),
    (f"{_MV}/get", ["GET"], get_model_version),
    (f"{_MV}/update", ["PATCH"], update_model_version),
    (f"{_MV}/delete", ["DELETE"], delete_model_version),
    (f"{_MV}/transition-stage", ["POST"], transition_stage),
    (f"{_MV}/search", ["GET"], search_model_versions),
    (f"{_MV}/get-download-uri", ["GET"], get_download_uri),
    (f"{_MV}/set-tag", ["POST"], set_model_version_tag),
    (f"{_MV}/delete-tag", ["DELETE"], delete_model_version_tag),
]

"""MLflow 3's logged models: ``/api/2.0/mlflow/logged-models...``.

MLflow 3's ``log_model`` creates a logged model (an id and an artifact folder of its own),
uploads the files through the artifact proxy, then marks it ready; registering points a
version at ``models:/<model_id>``. The store interface has no such entity yet, so the server
keeps each one as a small JSON record in the artifact storage, beside its files
(``<experiment_id>/models/<model_id>/``), which keeps the server stateless.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from typing import Any

from modelpack._store import now_ms
from modelpack.exceptions import ModelNotFoundError
from modelpack.server._errors import ApiError
from modelpack.server._request import Args
from modelpack.server._wire import ARTIFACTS_SCHEME, tags_json

__all__ = ["ROUTES", "load_record", "model_artifact_path"]

_API = "/api/2.0/mlflow/logged-models"
_ID = re.compile(r"m-[0-9a-f]{32}")
_STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_RECORD = "logged-model.json"
#: model id -> experiment id is in the record's path; an index finds it from the id alone
_INDEX = ".modelpack/logged-models"


def model_artifact_path(experiment_id: str, model_id: str) -> str:
    return f"{experiment_id}/models/{model_id}/artifacts"


def _check_id(model_id: str) -> str:
    if not _ID.fullmatch(model_id):
        raise ModelNotFoundError(f"no logged model with id {model_id!r} (ids look like m-<32 hex>)")
    return model_id


def _write(server: Any, path: str, data: dict[str, Any]) -> None:
    server.storage.put_stream(io.BytesIO(json.dumps(data).encode()), path)


def _read(server: Any, path: str) -> dict[str, Any]:
    with server.storage.open_read(path) as f:
        data: dict[str, Any] = json.loads(f.read())
    return data


def load_record(server: Any, model_id: str) -> dict[str, Any]:
    """The logged model's record; ModelNotFoundError when there is none."""
    _check_id(model_id)
    try:
        where = _read(server, f"{_INDEX}/{model_id}.json")["record"]
        return _read(server, where)
    except ModelNotFoundError:
        raise ModelNotFoundError(f"no logged model with id {model_id!r}") from None


def _save(server: Any, record: dict[str, Any]) -> None:
    info = record["info"]
    info["last_updated_timestamp_ms"] = now_ms()
    where = f"{info['experiment_id']}/models/{info['model_id']}/{_RECORD}"
    _write(server, where, record)


def create(server: Any, args: Args) -> dict[str, Any]:
    exp_id = args.text("experiment_id", required=True)
    server.store.get_experiment(exp_id)  # 404 for an unknown experiment
    run_id = args.text("source_run_id") or None
    if run_id:
        server.store.get_run(run_id)
    model_id = f"m-{uuid.uuid4().hex}"
    now = now_ms()
    info = {
        "model_id": model_id,
        "experiment_id": exp_id,
        "name": args.text("name") or model_id,
        "artifact_uri": f"{ARTIFACTS_SCHEME}/{model_artifact_path(exp_id, model_id)}",
        "creation_timestamp_ms": now,
        "last_updated_timestamp_ms": now,
        "status": "LOGGED_MODEL_PENDING",
        "model_type": args.text("model_type") or "",
        "tags": tags_json(args.pairs("tags")),
    }
    if run_id:
        info["source_run_id"] = run_id
    record = {"info": info, "data": {"params": tags_json(args.pairs("params")), "metrics": []}}
    where = f"{exp_id}/models/{model_id}/{_RECORD}"
    _write(server, f"{_INDEX}/{model_id}.json", {"record": where})
    _save(server, record)
    return {"model": record}


def get(server: Any, args: Args, model_id: str) -> dict[str, Any]:
    return {"model": load_record(server, model_id)}


def finalize(server: Any, args: Args, model_id: str) -> dict[str, Any]:
    record = load_record(server, model_id)
    status = args.text("status", required=True)
    if status.isdigit() and 0 < int(status) <= len(_STATUSES):
        status = _STATUSES[int(status) - 1]
    if status not in _STATUSES:
        raise ApiError(f"unknown status {status!r}; use one of {', '.join(_STATUSES)}")
    record["info"]["status"] = status
    _save(server, record)
    return {"model": record}


def delete(server: Any, args: Args, model_id: str) -> dict[str, Any]:
    record = load_record(server, model_id)
    server.storage.delete_prefix(f"{_INDEX}/{model_id}.json")
    info = record["info"]
    server.storage.delete_prefix(f"{info['experiment_id']}/models/{model_id}/{_RECORD}")
    return {}


def _merge(items: list[dict[str, str]], new: dict[str, str]) -> list[dict[str, str]]:
    merged = {i["key"]: i["value"] for i in items}
    merged.update(new)
    return tags_json(merged)


def set_tags(server: Any, args: Args, model_id: str) -> dict[str, Any]:
    record = load_record(server, model_id)
    record["info"]["tags"] = _merge(record["info"].get("tags", []), args.pairs("tags"))
    _save(server, record)
    return {"model": record}


def delete_tag(server: Any, args: Args, model_id: str, tag_key: str) -> dict[str, Any]:
    record = load_record(server, model_id)
    tags = record["info"].get("tags", [])
    if not any(t["key"] == tag_key for t in tags):
        raise ModelNotFoundError(f"logged model {model_id} has no tag {tag_key!r}")
    record["info"]["tags"] = [t for t in tags if t["key"] != tag_key]
    _save(server, record)
    return {}


def log_params(server: Any, args: Args, model_id: str) -> dict[str, Any]:
    record = load_record(server, model_id)
    record["data"]["params"] = _merge(record["data"].get("params", []), args.pairs("params"))
    _save(server, record)
    return {}


def search(server: Any, args: Args) -> dict[str, Any]:
    """Every logged model of the experiments, newest first. Filters, datasets and orders
    other than the default are not supported yet and are refused, not ignored."""
    if args.text("filter") or args.objects("datasets") or args.objects("order_by"):
        raise ApiError(
            "this server searches logged models by experiment only (no filter, datasets or "
            "order_by yet)",
            "NOT_IMPLEMENTED",
        )
    found = []
    for exp_id in args.strings("experiment_ids"):
        server.store.get_experiment(exp_id)
        for info in server.storage.walk(f"{exp_id}/models"):
            if info.path.endswith(f"/{_RECORD}") and info.path.count("/") == 3:
                found.append(_read(server, info.path))
    found.sort(key=lambda r: r["info"]["creation_timestamp_ms"], reverse=True)
    size = args.integer("max_results", default=100) or 100
    start = int(args.text("page_token") or 0) if (args.text("page_token") or "0").isdigit() else 0
    out: dict[str, Any] = {"models": found[start : start + size]}
    if start + size < len(found):
        out["next_page_token"] = str(start + size)
    return out


def list_artifacts(server: Any, args: Args, model_id: str) -> dict[str, Any]:
    from modelpack._storage._base import clean_path, join

    info = load_record(server, model_id)["info"]
    root = model_artifact_path(info["experiment_id"], model_id)
    files = []
    for entry in server.storage.list(join(root, clean_path(args.text("artifact_directory_path")))):
        item: dict[str, Any] = {"path": entry.path[len(root) :].lstrip("/"), "is_dir": entry.is_dir}
        if entry.file_size is not None:
            item["file_size"] = entry.file_size
        files.append(item)
    return {"root_uri": info["artifact_uri"], "files": files}


ROUTES: list[tuple[str, list[str], Any]] = [
    (_API, ["POST"], create),
    (f"{_API}/search", ["POST"], search),
    (f"{_API}/{{model_id}}", ["GET"], get),
    (f"{_API}/{{model_id}}", ["PATCH"], finalize),
    (f"{_API}/{{model_id}}", ["DELETE"], delete),
    (f"{_API}/{{model_id}}/tags", ["PATCH"], set_tags),
    (f"{_API}/{{model_id}}/tags/{{tag_key}}", ["DELETE"], delete_tag),
    (f"{_API}/{{model_id}}/params", ["POST"], log_params),
    (f"{_API}/{{model_id}}/artifacts/directories", ["GET"], list_artifacts),
]

"""A store on a tracking server, spoken to with MLflow's REST API (``http://host:port``).

``MODELPACK_STORE_URI=http://host:5000`` (or ``set_store_uri``) sends every run, registry
and artifact call to the server: a real ``mlflow server`` or modelpack's own. Calls map one to
one onto ``/api/2.0/mlflow/...`` endpoints; artifacts go through the server's artifacts proxy
(``mlflow-artifacts`` URIs, see ``_rest_artifacts``) or, when the server hands out ``s3://``
or other storage URIs, straight to that storage.

Models: ``log_model`` saves into a local staging folder (:meth:`RestStore.run_artifact_dir`);
:meth:`RestStore.record_logged_model` uploads it as run artifacts (``MLmodel`` last, so a
killed upload leaves no model) and lists it in the run's ``mlflow.log-model.history`` tag.
Loading ``runs:/`` and ``models:/`` URIs downloads through the digest-keyed, verified cache
of ``modelpack._storage``. A registered version's ``source`` is the model's artifact URI, as
MLflow 2 clients recorded it, so MLflow's own client loads these versions too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from modelpack._storage import ArtifactStorage, storage_for
from modelpack._storage import _factory as _storage_factory
from modelpack._store._base import Store
from modelpack._store._entities import (
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    NewRun,
    NewVersion,
    PagedList,
    RegisteredModel,
    Run,
    ViewType,
    canonical_stage,
)
from modelpack._store._rest_artifacts import SCHEME, ProxyStorage, client_for
from modelpack._store._rest_convert import (
    MODEL_HISTORY_TAG,
    experiment_from,
    logged_models_from,
    metric_from,
    model_version_from,
    registered_model_from,
    run_from,
    tag_list,
)
from modelpack._store._rest_http import HttpClient, RestValueError
from modelpack._store._storage_artifacts import StorageArtifacts
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError

__all__ = ["RestStore"]

# The storage layer finds artifact backends by scheme; the proxy's scheme is served here.
_storage_factory._BACKENDS.setdefault(SCHEME, "modelpack._store._rest_artifacts:ProxyStorage")

_API = "/api/2.0/mlflow"
# MLflow's limits for one log-batch request
_BATCH_METRICS, _BATCH_PARAMS, _BATCH_TAGS, _BATCH_TOTAL = 1000, 100, 100, 1000
_SEARCH_PAGE = 1000


def _view(view_type: int) -> str:
    return ViewType(view_type).name


class RestStore(StorageArtifacts, Store):
    """Runs, registry and artifacts on a tracking server speaking MLflow's REST API."""

    def __init__(self, uri: str) -> None:
        self.uri = uri.rstrip("/")
        self.http: HttpClient = client_for(self.uri)
        parts = urlsplit(self.uri)
        from modelpack._storage import models_cache_dir

        host = f"{parts.hostname}_{parts.port or ''}".replace(":", "_")
        #: local staging for models being logged; nothing stays here once uploaded
        self.artifact_root = models_cache_dir().parent / "rest-staging" / host
        self._artifact_uris: dict[str, str] = {}

    @classmethod
    def identify(cls, uri: str) -> str:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreError(f"invalid tracking server URI {uri!r}: use http://host:port")
        return uri.rstrip("/")

    @classmethod
    def open(cls, uri: str) -> RestStore:
        return cls(uri)

    def close(self) -> None:
        self.http.close()

    def __repr__(self) -> str:
        return f"<RestStore {self.uri}>"

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.http.call("GET", f"{_API}/{path}", params)

    def _post(self, path: str, payload: Mapping[str, Any], *, safe: bool = True) -> dict[str, Any]:
        return self.http.call("POST", f"{_API}/{path}", payload, idempotent=safe)

    # ------------------------------------------------------------------ experiments
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        payload: dict[str, Any] = {"name": name, "tags": tag_list(tags)}
        if artifact_location:
            payload["artifact_location"] = artifact_location
        return str(self._post("experiments/create", payload, safe=False)["experiment_id"])

    def get_or_create_experiment(self, name: str) -> Experiment:
        try:
            return self.get_experiment_by_name(name)
        except ModelNotFoundError:
            pass
        try:
            return self.get_experiment(self.create_experiment(name))
        except ModelExistsError:  # created by someone else meanwhile
            return self.get_experiment_by_name(name)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return experiment_from(
            self._get("experiments/get", experiment_id=experiment_id)["experiment"]
        )

    def get_experiment_by_name(self, name: str) -> Experiment:
        found = self._get("experiments/get-by-name", experiment_name=name)
        return experiment_from(found["experiment"])

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        found: list[Experiment] = []
        token = page_token
        while True:
            want = _SEARCH_PAGE if max_results is None else max_results
            payload = {
                "view_type": _view(view_type),
                "max_results": want,
                "filter": filter_string or None,
                "order_by": list(order_by or []),
                "page_token": token,
            }
            page = self._post("experiments/search", {k: v for k, v in payload.items() if v})
            found.extend(experiment_from(e) for e in page.get("experiments", []))
            token = page.get("next_page_token") or None
            if max_results is not None or not token:
                return PagedList(found, token)

    def delete_experiment(self, experiment_id: str) -> None:
        self._post("experiments/delete", {"experiment_id": experiment_id})

    def restore_experiment(self, experiment_id: str) -> None:
        self._post("experiments/restore", {"experiment_id": experiment_id})

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._post("experiments/update", {"experiment_id": experiment_id, "new_name": new_name})

    def set_experiment_tag(self, experiment_id: str, key: str, value: str | None) -> None:
        payload = {"experiment_id": experiment_id, "key": key}
        if value is None:
            self._post("experiments/delete-experiment-tag", payload)
        else:
            self._post("experiments/set-experiment-tag", {**payload, "value": str(value)})

    # ------------------------------------------------------------------ runs
    def create_run(self, new: NewRun) -> Run:
        payload: dict[str, Any] = {
            "experiment_id": new.experiment_id,
            "start_time": new.start_time,
            "tags": tag_list(new.tags),
        }
        if new.user_id:
            payload["user_id"] = new.user_id
        if new.run_name:
            payload["run_name"] = new.run_name
        run = run_from(self._post("runs/create", payload, safe=False)["run"])
        self._artifact_uris[run.run_id] = run.info.artifact_uri
        return run

    def update_run_info(
        self, run_id: str, *, status: str, end_time: int | None, run_name: str | None = None
    ) -> None:
        payload: dict[str, Any] = {"run_id": run_id, "status": status}
        if end_time is not None:
            payload["end_time"] = end_time
        if run_name is not None:
            payload["run_name"] = run_name
        self._post("runs/update", payload)

    def get_run(self, run_id: str) -> Run:
        run = run_from(self._get("runs/get", run_id=run_id)["run"])
        self._artifact_uris[run.run_id] = run.info.artifact_uri
        return run

    def delete_run(self, run_id: str) -> None:
        self._post("runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self._post("runs/restore", {"run_id": run_id})

    def log_batch(
        self,
        run_id: str,
        *,
        params: Mapping[str, str] = {},
        metrics: Sequence[Metric] = (),
        tags: Mapping[str, str] = {},
    ) -> None:
        p = [{"key": k, "value": str(v)} for k, v in params.items()]
        m = [
            {"key": x.key, "value": _number(x.value), "timestamp": x.timestamp, "step": x.step}
            for x in metrics
        ]
        t = tag_list(tags)
        while p or m or t:
            chunk_p, p = p[:_BATCH_PARAMS], p[_BATCH_PARAMS:]
            chunk_t, t = t[:_BATCH_TAGS], t[_BATCH_TAGS:]
            room = _BATCH_TOTAL - len(chunk_p) - len(chunk_t)
            chunk_m, m = m[: min(room, _BATCH_METRICS)], m[min(room, _BATCH_METRICS) :]
            payload = {"run_id": run_id, "params": chunk_p, "metrics": chunk_m, "tags": chunk_t}
            # repeating a batch with metrics would log their values twice
            self._post("runs/log-batch", payload, safe=not chunk_m)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._post("runs/delete-tag", {"run_id": run_id, "key": key})

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        found: list[Metric] = []
        token = None
        while True:
            page = self._get("metrics/get-history", run_id=run_id, metric_key=key, page_token=token)
            found.extend(metric_from(m) for m in page.get("metrics", []))
            token = page.get("next_page_token")
            if not token:
                return found

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in self.search_experiments(ViewType.ALL)]
        if not experiment_ids:
            return PagedList([], None)
        payload: dict[str, Any] = {
            "experiment_ids": [str(i) for i in experiment_ids],
            "run_view_type": _view(run_view_type),
            "max_results": int(max_results),
        }
        if filter_string:
            payload["filter"] = filter_string
        if order_by:
            payload["order_by"] = list(order_by)
        if page_token:
            payload["page_token"] = page_token
        page = self._post("runs/search", payload)
        runs = [run_from(r) for r in page.get("runs", [])]
        return PagedList(runs, page.get("next_page_token") or None)

    # ------------------------------------------------------------------ artifacts
    def _artifact_uri(self, run_id: str) -> str:
        uri = self._artifact_uris.get(run_id)
        return uri if uri is not None else self.get_run(run_id).info.artifact_uri

    def run_storage(self, run_id: str) -> ArtifactStorage:
        """The storage holding the run's artifacts (the proxy, or the storage it names)."""
        uri = self._artifact_uri(run_id)
        if uri.startswith(f"{SCHEME}:"):
            return ProxyStorage(uri, client=self.http if not urlsplit(uri).netloc else None)
        return storage_for(uri)

    # ------------------------------------------------------------------ logged models
    def record_logged_model(self, model: LoggedModel) -> None:
        self.publish_model(model)
        self._add_history(model)

    def _add_history(self, model: LoggedModel) -> None:
        from datetime import datetime, timezone

        run = self.get_run(model.run_id)
        try:
            history = json.loads(run.data.tags.get(MODEL_HISTORY_TAG, "[]"))
        except ValueError:
            history = []
        created = datetime.fromtimestamp(model.creation_time / 1000, tz=timezone.utc)
        history.append(
            {
                "run_id": model.run_id,
                "artifact_path": model.artifact_path,
                "utc_time_created": created.replace(tzinfo=None).isoformat(),
                "model_uuid": model.model_uuid,
                "flavors": {name: {} for name in model.flavors},
            }
        )
        self._post(
            "runs/set-tag",
            {"run_id": model.run_id, "key": MODEL_HISTORY_TAG, "value": json.dumps(history)},
        )

    def list_logged_models(self, run_id: str) -> list[LoggedModel]:
        return logged_models_from(run_id, self.get_run(run_id).data.tags)

    # ------------------------------------------------------------------ registry
    def create_registered_model(
        self, name: str, *, description: str | None, tags: Mapping[str, str]
    ) -> RegisteredModel:
        payload: dict[str, Any] = {"name": name, "tags": tag_list(tags)}
        if description:
            payload["description"] = description
        found = self._post("registered-models/create", payload, safe=False)
        return registered_model_from(found["registered_model"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        return registered_model_from(
            self._get("registered-models/get", name=name)["registered_model"]
        )

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        page = self._get(
            "registered-models/search",
            filter=filter_string or None,
            max_results=max_results,
            order_by=list(order_by or []) or None,
            page_token=page_token,
        )
        models = [registered_model_from(m) for m in page.get("registered_models", [])]
        return PagedList(models, page.get("next_page_token") or None)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        found = self._post("registered-models/rename", {"name": name, "new_name": new_name})
        return registered_model_from(found["registered_model"])

    def update_registered_model(self, name: str, *, description: str | None) -> None:
        payload = {"name": name, "description": description or ""}
        self.http.call("PATCH", f"{_API}/registered-models/update", payload, idempotent=True)

    def delete_registered_model(self, name: str) -> None:
        self.http.call("DELETE", f"{_API}/registered-models/delete", {"name": name})

    def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None:
        if value is None:
            self.http.call(
                "DELETE", f"{_API}/registered-models/delete-tag", {"name": name, "key": key}
            )
        else:
            payload = {"name": name, "key": key, "value": str(value)}
            self._post("registered-models/set-tag", payload)

    def create_model_version(self, new: NewVersion) -> ModelVersion:
        source, run_id = self._remote_source(new)
        if new.create_model:
            try:
                self.create_registered_model(new.name, description=None, tags={})
            except ModelExistsError:
                pass
        else:
            self.get_registered_model(new.name)  # a missing model is an error
        payload: dict[str, Any] = {"name": new.name, "source": source, "tags": tag_list(new.tags)}
        for key, value in (
            ("run_id", run_id),
            ("description", new.description),
            ("run_link", new.run_link),
        ):
            if value:
                payload[key] = value
        found = self._post("model-versions/create", payload, safe=False)
        return self._version(found["model_version"])

    def _remote_source(self, new: NewVersion) -> tuple[str, str | None]:
        """Where the new version's files are on the server's side, and their run."""
        from modelpack._storage import is_remote_scheme, scheme_of
        from modelpack._uri import model_version_for, parse_uri

        text = str(new.source)
        if text.startswith("runs:"):
            parsed = parse_uri(text)
            assert parsed.run_id is not None and parsed.path is not None
            base = self._artifact_uri(parsed.run_id).rstrip("/")
            return f"{base}/{parsed.path}", parsed.run_id
        if text.startswith("models:"):
            existing = model_version_for(self, parse_uri(text))
            return existing.storage_location, existing.run_id or new.run_id
        if text.startswith(f"{SCHEME}:") or is_remote_scheme(scheme_of(text)):
            return text, new.run_id
        raise StoreError(
            f"cannot register {text!r} on the tracking server at {self.uri}: it is a local "
            "model directory, which the server cannot read. Log it into a run first "
            "(modelpack.log_model, or log_artifacts of the directory) and register "
            "runs:/<run_id>/<path>"
        )

    def _version(self, data: Mapping[str, Any]) -> ModelVersion:
        """A version, with the location its files load from (resolving runs:/ sources)."""
        source = str(data.get("source", ""))
        location = source
        if source.startswith("runs:/") and data.get("run_id"):
            rest = source[len("runs:/") :].partition("/")[2]
            location = f"{self._artifact_uri(str(data['run_id'])).rstrip('/')}/{rest}"
        elif source.startswith("models:/m-"):
            model_id = source[len("models:/") :].strip("/")
            try:
                found = self.http.call("GET", f"/api/2.0/mlflow/logged-models/{model_id}")
                location = str(found["model"]["info"]["artifact_uri"])
            except (ModelNotFoundError, KeyError):
                pass
        return model_version_from(data, location)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        found = self._get("model-versions/get", name=name, version=str(version))
        return self._version(found["model_version"])

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        try:
            found = self._get("registered-models/alias", name=name, alias=alias)
        except RestValueError as e:  # MLflow answers a missing alias as a bad parameter
            raise ModelNotFoundError(
                f"registered model {name!r} has no alias {alias!r}: {e}; set it with set_alias"
            ) from None
        return self._version(found["model_version"])

    def get_latest_version(self, name: str, stage: str | None = None) -> ModelVersion:
        if stage is None:
            page = self.search_model_versions(
                f"name = '{_quote(name)}'", max_results=1, order_by=["version_number DESC"]
            )
            if page:
                return page[0]
            self.get_registered_model(name)  # ModelNotFoundError for an unknown name
            raise ModelNotFoundError(f"registered model {name!r} has no versions yet")
        wanted = canonical_stage(stage)
        found = self._post(
            "registered-models/get-latest-versions", {"name": name, "stages": [wanted]}
        )
        versions = found.get("model_versions", [])
        if not versions:
            raise ModelNotFoundError(
                f"registered model {name!r} has no version in stage {wanted!r}; move one there "
                "with transition_model_version_stage"
            )
        return self._version(max(versions, key=lambda v: int(v["version"])))

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        page = self._get(
            "model-versions/search",
            filter=filter_string or None,
            max_results=max_results,
            order_by=list(order_by or []) or None,
            page_token=page_token,
        )
        versions = [self._version(v) for v in page.get("model_versions", [])]
        return PagedList(versions, page.get("next_page_token") or None)

    def update_model_version(self, name: str, version: int, *, description: str | None) -> None:
        payload = {"name": name, "version": str(version), "description": description or ""}
        self.http.call("PATCH", f"{_API}/model-versions/update", payload, idempotent=True)

    def delete_model_version(self, name: str, version: int) -> None:
        payload = {"name": name, "version": str(version)}
        self.http.call("DELETE", f"{_API}/model-versions/delete", payload)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str | None) -> None:
        payload = {"name": name, "version": str(version), "key": key}
        if value is None:
            self.http.call("DELETE", f"{_API}/model-versions/delete-tag", payload)
        else:
            self._post("model-versions/set-tag", {**payload, "value": str(value)})

    def set_alias(self, name: str, alias: str, version: int) -> None:
        payload = {"name": name, "alias": alias, "version": str(version)}
        self._post("registered-models/alias", payload)

    def delete_alias(self, name: str, alias: str) -> None:
        self.http.call("DELETE", f"{_API}/registered-models/alias", {"name": name, "alias": alias})

    def transition_stage(
        self, name: str, version: int, stage: str, *, archive_existing: bool
    ) -> ModelVersion:
        payload = {
            "name": name,
            "version": str(version),
            "stage": canonical_stage(stage),
            "archive_existing_versions": bool(archive_existing),
        }
        found = self._post("model-versions/transition-stage", payload)
        return self._version(found["model_version"])

    def storage_location(self, model_dir: Path) -> str:
        return str(model_dir)


def _number(value: float) -> float | str:
    """JSON has no NaN or infinity: MLflow's JSON form writes them as strings."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def _quote(text: str) -> str:
    return text.replace("'", "\\'")

"""The tracking half of the client: experiments, runs, params, metrics, tags and artifacts.

Method names, parameters and return shapes are MLflow's ``MlflowClient`` ones. The fluent
functions (``modelpack.log_param`` and friends in ``modelpack._tracking``) find the active run
and call these same methods, so both spellings share one implementation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._artifacts import dict_text, save_figure, save_image, staged
from modelpack._client._base import ClientBase
from modelpack._store import (
    RUN_STATUSES,
    TAG_PARENT,
    Experiment,
    FileInfo,
    Metric,
    NewRun,
    PagedList,
    Run,
    RunStatus,
    ViewType,
    now_ms,
    user_name,
)
from modelpack.exceptions import ModelNotFoundError, StoreError, warn

if TYPE_CHECKING:
    from modelpack._store import Param, RunTag

__all__ = ["SEARCH_MAX_RESULTS", "TrackingClient", "check_key", "metric_value"]

#: the most runs or experiments one search call returns (MLflow's limit too)
SEARCH_MAX_RESULTS = 50000


def check_key(key: Any) -> str:
    """A param, metric or tag name: a non-empty string."""
    if not isinstance(key, str) or not key.strip():
        raise StoreError(f"param, metric and tag names must be non-empty strings, got {key!r}")
    return key


def metric_value(key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as e:
        raise StoreError(f"metric {key!r} must be a number, got {value!r}") from e


def _max_results(value: int | None, *, default: int | None) -> int | None:
    if value is None:
        return default
    number = int(value)
    if not 1 <= number <= SEARCH_MAX_RESULTS:
        raise StoreError(f"max_results must be between 1 and {SEARCH_MAX_RESULTS}, got {value}")
    return number


def _status(status: str | int | None) -> str:
    if isinstance(status, int) and not isinstance(status, bool):
        status = RunStatus.to_string(status)
    text = "FINISHED" if status is None else str(status).upper()
    if text not in RUN_STATUSES:
        raise StoreError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
    return text


class TrackingClient(ClientBase):
    """Experiments, runs and artifacts in the tracking store (MLflow's ``MlflowClient`` API)."""

    # ------------------------------------------------------------------ experiments
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Create an experiment and return its id; a name already in use is an error."""
        str_tags = {check_key(k): str(v) for k, v in (tags or {}).items()}
        return self._store.create_experiment(name, artifact_location, str_tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment named ``name``, or None."""
        try:
            return self._store.get_experiment_by_name(name)
        except ModelNotFoundError:
            return None

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments matching ``filter_string`` (e.g. ``"name LIKE 'nyc-%'"``), one page."""
        return self._store.search_experiments(
            ViewType(view_type),
            _max_results(max_results, default=None),
            filter_string,
            order_by,
            page_token,
        )

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment and its runs deleted (``restore_experiment`` undoes it)."""
        self._store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.set_experiment_tag(str(experiment_id), check_key(key), str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._store.set_experiment_tag(str(experiment_id), check_key(key), None)

    # ------------------------------------------------------------------ runs
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: Mapping[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run; it ends with :meth:`set_terminated`."""
        str_tags = {check_key(k): str(v) for k, v in (tags or {}).items()}
        when = now_ms() if start_time is None else int(start_time)
        new = NewRun(str(experiment_id), run_name, user_name(), when, str_tags)
        return self._store.create_run(new)

    def get_run(self, run_id: str) -> Run:
        """A run with its params, latest metrics, tags and logged models."""
        return self._store.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self._store.get_run(run_id).data.tags.get(TAG_PARENT)
        return None if parent is None else self._store.get_run(parent)

    def search_runs(
        self,
        experiment_ids: list[str] | str,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of runs matching ``filter_string``; ``.token`` fetches the next page.

        Parameters
        ----------
        experiment_ids : list of str
            Where to look.
        filter_string : str
            Conditions joined by ``and``, e.g. ``"metrics.rmse < 7 and params.alpha = '0.1'"``.
        run_view_type : ViewType
            ``ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
        max_results : int
            Runs per page (at most 50000).
        order_by : list of str, optional
            E.g. ``["metrics.rmse ASC"]``; runs without the key come last. Default: newest first.
        page_token : str, optional
            The ``token`` of the previous page.
        """
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        return self._store.search_runs(
            [str(i) for i in ids],
            filter_string,
            ViewType(run_view_type),
            _max_results(max_results, default=1000) or 1000,
            order_by,
            page_token,
        )

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> None:
        """End a run: ``FINISHED`` unless ``status`` says ``FAILED`` or ``KILLED``."""
        self._store.update_run_info(
            run_id, status=_status(status), end_time=now_ms() if end_time is None else end_time
        )

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change a run's status and/or name."""
        info = self._store.get_run(run_id).info
        self._store.update_run_info(
            run_id,
            status=info.status if status is None else _status(status),
            end_time=info.end_time,
            run_name=name,
        )

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted: searches leave it out unless asked (``restore_run`` undoes it)."""
        self._store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._store.restore_run(run_id)

    # ------------------------------------------------------------------ params, metrics, tags
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a parameter (stored as a string; logging another value later is an error)."""
        self._store.log_batch(run_id, params={check_key(key): str(value)})
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        """Log one metric value; every value is kept, the run shows the one at the last step."""
        if dataset_name is not None or dataset_digest is not None or model_id is not None:
            warn("modelpack does not link metrics to datasets or logged models; logged plainly")
        self._log_metrics(run_id, {key: value}, step=step, timestamp=timestamp)

    # the fluent log_metrics, log_params and set_tags write through these (MLflow's client has
    # no such methods, so they stay private)
    def _log_metrics(
        self,
        run_id: str,
        metrics: Mapping[str, Any],
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        when = now_ms() if timestamp is None else int(timestamp)
        values = [
            Metric(check_key(k), metric_value(k, v), when, int(step or 0))
            for k, v in metrics.items()
        ]
        self._store.log_batch(run_id, metrics=values)

    def _log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._store.log_batch(run_id, params={check_key(k): str(v) for k, v in params.items()})

    def _set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._store.log_batch(run_id, tags={check_key(k): str(v) for k, v in tags.items()})

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log ``Metric``, ``Param`` and ``RunTag`` entities in one write."""
        for key in {m.key for m in metrics}:
            check_key(key)
        values = [m if _clean(m) else _metric(m) for m in metrics]
        self._store.log_batch(
            run_id,
            params=_pairs(params, "params"),
            metrics=values,
            tags=_pairs(tags, "tags"),
        )

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Set a tag (setting it again replaces the value)."""
        self._set_tags(run_id, {key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value logged for one metric of a run, by step."""
        return self._store.get_metric_history(run_id, key)

    # ------------------------------------------------------------------ artifacts
    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """One level of a run's artifacts (under ``path``), relative to its artifact root."""
        return self._store.list_artifacts(run_id, path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Copy an artifact file or folder to ``dst_path`` (a new temporary folder by default)
        and return the local path."""
        dst = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())
        return str(self._store.download_artifacts(run_id, path or "", dst))

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Copy a local file into the run, under ``artifact_path``."""
        self._store.log_artifact(run_id, Path(local_path), artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy a local directory's contents into the run, under ``artifact_path``."""
        self._store.log_artifacts(run_id, Path(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` to the artifact ``artifact_file`` (e.g. ``"notes/summary.txt"``)."""
        with staged(artifact_file) as (path, folder):
            path.write_text(text, encoding="utf-8")
            self._store.log_artifact(run_id, path, folder)

    def log_dict(self, run_id: str, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """Write a dict as JSON, or as YAML when ``artifact_file`` ends in .yaml/.yml."""
        self.log_text(run_id, dict_text(dictionary, artifact_file), artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Save a matplotlib or plotly figure as ``artifact_file`` (format by suffix)."""
        with staged(artifact_file) as (path, folder):
            save_figure(figure, path, save_kwargs)
            self._store.log_artifact(run_id, path, folder)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Save a numpy array or PIL image as ``artifact_file`` (PNG needs no extra library)."""
        if artifact_file is None or key is not None:
            raise StoreError(
                "log_image needs artifact_file (e.g. 'images/confusion.png'); modelpack does not "
                "keep image series by key and step"
            )
        with staged(artifact_file) as (path, folder):
            save_image(image, path)
            self._store.log_artifact(run_id, path, folder)


def _clean(metric: Metric) -> bool:
    """A metric that can go to the store as it is (the usual case: no copy per value)."""
    return (
        type(metric) is Metric
        and type(metric.value) is float
        and type(metric.timestamp) is int
        and type(metric.step) is int
    )


def _metric(metric: Metric) -> Metric:
    """Any metric-like object (MLflow's ``Metric`` too) with the store's types."""
    timestamp = metric.timestamp
    return Metric(
        metric.key,
        metric_value(metric.key, metric.value),
        now_ms() if timestamp is None else int(timestamp),
        int(metric.step or 0),
    )


def _pairs(items: Iterable[Param | RunTag], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key = check_key(item.key)
        if what == "params" and key in out and out[key] != str(item.value):
            raise StoreError(f"param {key!r} appears twice in one batch with different values")
        out[key] = str(item.value)
    return out

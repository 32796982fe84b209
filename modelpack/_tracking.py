"""The fluent tracking API: experiments, the active run, params, metrics, tags and search.

MLflow's module-level functions with MLflow's names and signatures. A run belongs to an
experiment (``Default`` unless :func:`set_experiment` chose another) and to the store in
effect when it started. The active runs form a per-thread stack; ``log_param`` and friends
write to the top one, starting a run when there is none. Every write goes through the client
(``modelpack._client._tracking``), so the fluent and the client spellings share one
implementation.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Any

from modelpack._client._tracking import SEARCH_MAX_RESULTS, TrackingClient
from modelpack._crash import crash_point
from modelpack._store import (
    RUN_STATUSES,
    TAG_NOTE,
    TAG_PARENT,
    LifecycleStage,
    LoggedModel,
    Run,
    ViewType,
    get_store,
    now_ms,
    run_context_tags,
)
from modelpack.exceptions import ModelExistsError, ModelNotFoundError, StoreError, warn

if TYPE_CHECKING:
    import pandas as pd

    from modelpack._save import ModelInfo, SaveOptions
    from modelpack._store import Experiment, Metric, Store

__all__ = [
    "ActiveRun",
    "active_run",
    "client_for",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "get_experiment",
    "get_experiment_by_name",
    "get_metric_history",
    "get_run",
    "last_active_run",
    "log_metric",
    "log_metrics",
    "log_model_with",
    "log_param",
    "log_params",
    "run_target",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "start_run",
]

DEFAULT_EXPERIMENT_ID = "0"
_state = threading.local()


@dataclass(frozen=True)
class _Choice:
    """The experiment chosen with set_experiment, and the store it was found in."""

    store: Store
    experiment_id: str
    name: str


_active_experiment: _Choice | None = None
#: the store and id of the run that ended last (``last_active_run``)
_last_run: tuple[Store, str] | None = None


class _RunClient(TrackingClient):
    """The client of the store a run started in (later store changes do not move the run)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.uri)
        self._bound = store

    @property
    def _store(self) -> Store:
        return self._bound


@dataclass(frozen=True)
class ActiveRun(Run):
    """The run :func:`start_run` returns; as a context manager it ends the run on exit.

    The run ends ``FINISHED``, ``FAILED`` when the block raises, or ``KILLED`` on Ctrl-C.
    ``info`` and ``data`` are a snapshot from the start; :func:`get_run` fetches fresh ones.
    """

    store: Store | None = field(default=None, repr=False, compare=False)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None or (issubclass(exc_type, SystemExit) and not getattr(exc, "code", 1)):
            status = "FINISHED"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        if any(r.run_id == self.run_id for r in _stack()):
            _end(self, status)


def _stack() -> list[ActiveRun]:
    stack: list[ActiveRun] | None = getattr(_state, "stack", None)
    if stack is None:
        stack = _state.stack = []
    return stack


def _store_of(run: ActiveRun) -> Store:
    assert run.store is not None
    return run.store


def client_for(run: ActiveRun) -> TrackingClient:
    """The client that writes to ``run`` (in the store it started in)."""
    return _RunClient(_store_of(run))


# ---------------------------------------------------------------------- experiments
def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment the one new runs go to; a new name creates it.

    Parameters
    ----------
    experiment_name : str, optional
        The experiment's name (created on first use).
    experiment_id : str, optional
        Or its id (it must exist).

    Returns
    -------
    Experiment
    """
    global _active_experiment
    if (experiment_name is None) == (experiment_id is None):
        raise StoreError("give set_experiment an experiment_name or an experiment_id (one)")
    store = get_store()
    if experiment_id is not None:
        experiment = store.get_experiment(str(experiment_id))
    else:
        if not isinstance(experiment_name, str) or not experiment_name.strip():
            raise StoreError(
                f"an experiment name must be a non-empty string, got {experiment_name!r}"
            )
        experiment = store.get_or_create_experiment(experiment_name)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise StoreError(
            f"experiment {experiment.name!r} (id {experiment.experiment_id}) is deleted; "
            "restore it (MlflowClient().restore_experiment) or pick another name"
        )
    _active_experiment = _Choice(store, experiment.experiment_id, experiment.name)
    return experiment


def _experiment_id_in(store: Store) -> str:
    """The id new runs in ``store`` go to: the chosen experiment, else Default."""
    choice = _active_experiment
    if choice is None:
        return DEFAULT_EXPERIMENT_ID
    if choice.store is store:
        return choice.experiment_id
    # the store changed since set_experiment: the experiment of that name in this one
    return store.get_or_create_experiment(choice.name).experiment_id


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Create an experiment and return its id; a name already in use is an error.

    Parameters
    ----------
    name : str
    artifact_location : str, optional
        A local directory for its runs' artifacts (default: inside the store).
    tags : dict, optional
    """
    return TrackingClient().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id (ModelNotFoundError when there is none)."""
    return TrackingClient().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment named ``name``, or None."""
    return TrackingClient().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Experiments matching ``filter_string``, newest first by default.

    Parameters
    ----------
    view_type : ViewType
        ``ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
    max_results : int, optional
        At most this many (default: all).
    filter_string : str, optional
        E.g. ``"name LIKE 'nyc-%' and tags.team = 'ml'"``.
    order_by : list of str, optional
        E.g. ``["name ASC"]``, ``["last_update_time DESC"]``.
    """
    found = TrackingClient().search_experiments(view_type, None, filter_string, order_by)
    return list(found if max_results is None else found[: int(max_results)])


def delete_experiment(experiment_id: str) -> None:
    """Mark an experiment and its runs deleted."""
    TrackingClient().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the current experiment."""
    set_experiment_tags({key: value})


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the current experiment."""
    store = get_store()
    experiment_id = _experiment_id_in(store)
    client = _RunClient(store)
    for key, value in tags.items():
        client.set_experiment_tag(experiment_id, key, value)


# ---------------------------------------------------------------------- runs
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume one) and make it the active one.

    Use it as a context manager: the run ends when the block does, ``FAILED`` if it raised.
    A new run records its source file, the git commit of the working tree (when in one) and
    the user as ``mlflow.source.name``, ``mlflow.source.git.commit`` and ``mlflow.user`` tags.

    Parameters
    ----------
    run_id : str, optional
        Resume this run (it becomes RUNNING again) instead of starting a new one.
    experiment_id : str, optional
        The experiment (default: the one set with :func:`set_experiment`, else ``Default``).
    run_name : str, optional
        A readable name (default: a generated one such as ``swift-otter-417``).
    nested : bool
        Allow starting inside another active run; the parent's id is tagged on the child.
    parent_run_id : str, optional
        The parent of a nested run (it must be the active run when there is one).
    tags : dict, optional
        Tags to set on the run (values are stored as strings).
    description : str, optional
        Stored as the ``mlflow.note.content`` tag.
    log_system_metrics : bool, optional
        Not supported: modelpack records no system metrics (True warns).

    Returns
    -------
    ActiveRun
    """
    stack = _stack()
    if stack and not nested:
        raise StoreError(
            f"run {stack[-1].run_id} is already active; end it first (modelpack.end_run()) or "
            "pass nested=True to start a child run"
        )
    if log_system_metrics:
        warn("modelpack records no system metrics; the run starts without them")
    store = stack[-1].store if stack else get_store()
    assert store is not None
    client = _RunClient(store)
    user_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if description:
        if TAG_NOTE in user_tags:
            raise StoreError(f"give the description once: as description= or the {TAG_NOTE} tag")
        user_tags[TAG_NOTE] = description
    if run_id:
        run = _resume(client, run_id, run_name, user_tags)
    else:
        parent = _parent_of_new_run(client, stack, parent_run_id)
        all_tags = run_context_tags()
        if parent is not None:
            all_tags[TAG_PARENT] = parent
        all_tags.update(user_tags)
        exp_id = _experiment_id_in(store) if experiment_id is None else str(experiment_id)
        run = client.create_run(exp_id, tags=all_tags, run_name=run_name)
    active = ActiveRun(run.info, run.data, run.logged_models, store=store)
    stack.append(active)
    return active


def _resume(client: TrackingClient, run_id: str, name: str | None, tags: dict[str, str]) -> Run:
    run = client.get_run(run_id)
    if run.info.lifecycle_stage != LifecycleStage.ACTIVE:
        raise StoreError(f"run {run_id} is deleted; restore it (restore_run) before resuming it")
    client.update_run(run_id, status="RUNNING", name=name)
    if tags:
        client._set_tags(run_id, tags)
    return client.get_run(run_id)


def _parent_of_new_run(
    client: TrackingClient, stack: list[ActiveRun], parent_run_id: str | None
) -> str | None:
    if not parent_run_id:
        return stack[-1].run_id if stack else None
    if stack and parent_run_id != stack[-1].run_id:
        raise StoreError(
            f"parent_run_id {parent_run_id} is not the active run {stack[-1].run_id}; end the "
            "active run first, or leave parent_run_id out to nest under it"
        )
    if client.get_run(parent_run_id).info.lifecycle_stage != LifecycleStage.ACTIVE:
        raise StoreError(f"run {parent_run_id} is deleted; it cannot be a parent")
    return parent_run_id


def active_run() -> ActiveRun | None:
    """The run ``log_*`` calls write to in this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the run that ended last (fetched fresh), else None."""
    run = active_run()
    if run is not None:
        return client_for(run).get_run(run.run_id)
    if _last_run is None:
        return None
    store, run_id = _last_run
    return _RunClient(store).get_run(run_id)


def _end(run: ActiveRun, status: str) -> None:
    global _last_run
    stack = _stack()
    client_for(run).set_terminated(run.run_id, status)
    stack[:] = [r for r in stack if r.run_id != run.run_id]
    _last_run = (_store_of(run), run.run_id)


def end_run(status: str = "FINISHED") -> None:
    """End the active run with ``status`` (FINISHED, FAILED or KILLED); no-op without one."""
    status = str(status).upper()
    if status not in RUN_STATUSES or status == "RUNNING":
        raise StoreError(f"a run ends FINISHED, FAILED or KILLED, not {status!r}")
    run = active_run()
    if run is not None:
        _end(run, status)


@atexit.register
def _end_open_runs() -> None:
    """Runs still open when the interpreter exits normally finished their work."""
    for run in reversed(_stack()):
        try:
            _end(run, "FINISHED")
        except Exception:  # the store may be gone already; never fail the exit
            pass


def _run_for_logging() -> ActiveRun:
    return active_run() or start_run()


def run_target(run_id: str | None) -> tuple[TrackingClient, str]:
    """The client and run a logging call writes to: ``run_id``, else the active run."""
    run = active_run()
    if run_id is None:
        run = run or start_run()
        return client_for(run), run.run_id
    if run is not None and run.run_id == run_id:
        return client_for(run), run_id
    return TrackingClient(), run_id


def delete_run(run_id: str) -> None:
    """Mark a run deleted; searches leave it out unless asked for deleted runs."""
    TrackingClient().delete_run(run_id)


# ---------------------------------------------------------------------- params, metrics, tags
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log one parameter of the active run (stored as a string; cannot change later).

    Returns the value, as MLflow does.
    """
    client, run_id = run_target(None)
    return client.log_param(run_id, key, value)


def log_params(
    params: Mapping[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> None:
    """Log several parameters at once (of ``run_id``, else the active run)."""
    client, target = run_target(run_id)
    client._log_params(target, params)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log one metric value (of ``run_id``, else the active run).

    Parameters
    ----------
    key : str
        The metric's name.
    value : float
        Its value. Every value is kept; the run's value is the one at the highest step.
    step : int, optional
        Training step or epoch (default 0).
    synchronous : bool, optional
        Accepted for MLflow's sake; modelpack always writes before returning.
    timestamp : int, optional
        Milliseconds since the epoch (default: now).
    run_id : str, optional
        Log to this run instead of the active one.
    """
    log_metrics({key: value}, step, synchronous, run_id, timestamp, model_id, dataset)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log several metric values at one step (of ``run_id``, else the active run)."""
    if model_id is not None or dataset is not None:
        warn("modelpack does not link metrics to datasets or logged models; logged plainly")
    client, target = run_target(run_id)
    client._log_metrics(target, metrics, step=step, timestamp=timestamp)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set a tag on the active run (setting it again replaces the value)."""
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any], synchronous: bool | None = None) -> None:
    """Set several tags on the active run."""
    client, run_id = run_target(None)
    client._set_tags(run_id, tags)


def delete_tag(key: str) -> None:
    """Remove a tag from the active run."""
    client, run_id = run_target(None)
    client.delete_tag(run_id, key)


# ---------------------------------------------------------------------- reading runs
def get_run(run_id: str) -> Run:
    """Fetch a run with its params, latest metrics, tags and logged models."""
    return TrackingClient().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    """Every value logged for one metric of a run, by step."""
    return TrackingClient().get_metric_history(run_id, key)


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100000,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Find runs by their metrics, params, tags and attributes.

    Parameters
    ----------
    experiment_ids : list of str, optional
        Where to look (default: the current experiment, see :func:`set_experiment`).
    filter_string : str
        Conditions joined by ``and``, e.g.
        ``"metrics.rmse < 7 and params.alpha = '0.1' and tags.team = 'ml'"``.
    run_view_type : ViewType
        ``ACTIVE_ONLY`` (default), ``DELETED_ONLY`` or ``ALL``.
    max_results : int
        At most this many runs.
    order_by : list of str, optional
        E.g. ``["metrics.rmse ASC"]``; runs without the key come last. Default: newest first.
    output_format : {"pandas", "list"}
        A DataFrame (needs pandas) or a list of :class:`Run`.
    search_all_experiments : bool
        Look in every active experiment when neither ids nor names are given.
    experiment_names : list of str, optional
        Where to look, by name (instead of ``experiment_ids``); unknown names warn.

    Returns
    -------
    pandas.DataFrame or list of Run
        The DataFrame has MLflow's columns: ``run_id``, ``experiment_id``, ``status``,
        ``artifact_uri``, ``start_time`` and ``end_time`` (UTC), then ``metrics.<key>``,
        ``params.<key>`` and ``tags.<key>``, one row per run.
    """
    if output_format not in ("pandas", "list"):
        raise ValueError(f"output_format is 'pandas' or 'list', not {output_format!r}")
    if output_format == "pandas":
        from modelpack._runs_frame import require_pandas

        pandas = require_pandas()
    if experiment_ids and experiment_names:
        raise StoreError("give search_runs experiment_ids or experiment_names, not both")
    client = TrackingClient()
    ids = _search_scope(client, experiment_ids, experiment_names, search_all_experiments)
    runs: list[Run] = []
    token = None
    while ids and len(runs) < max_results:
        page = client.search_runs(
            ids,
            filter_string,
            run_view_type,
            min(SEARCH_MAX_RESULTS, max_results - len(runs)),
            order_by,
            token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    from modelpack._runs_frame import runs_frame

    return runs_frame(runs, pandas)


def _search_scope(
    client: TrackingClient,
    experiment_ids: list[str] | str | None,
    experiment_names: list[str] | str | None,
    search_all: bool,
) -> list[str]:
    if experiment_ids:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else experiment_ids
        return [str(i) for i in ids]
    if experiment_names:
        names = [experiment_names] if isinstance(experiment_names, str) else experiment_names
        found = []
        for name in names:
            try:
                found.append(client._store.get_experiment_by_name(name).experiment_id)
            except ModelNotFoundError as e:
                warn(f"search_runs skips it: {e}")
        return found
    if search_all:
        active = client.search_experiments(ViewType.ACTIVE_ONLY, None)
        return [e.experiment_id for e in active]
    return [_experiment_id_in(client._store)]


# ---------------------------------------------------------------------- log_model
def _check_name(name: str) -> str:
    path = PurePosixPath(str(name).replace("\\", "/"))
    if not str(name).strip() or path.is_absolute() or ".." in path.parts or not path.parts:
        raise StoreError(
            f"invalid model name {name!r}: give a relative path inside the run, such as 'model'"
        )
    return path.as_posix()


def log_model_with(
    model: Any, name: str, options: SaveOptions, *, registered_model_name: str | None
) -> ModelInfo:
    """Save ``model`` into the active run (or a run of its own) and optionally register it.

    The files are written completely (atomic save) before the database records them, so a
    crash in between leaves an unreferenced folder, never a record of a missing model.
    """
    name = _check_name(name)
    run = active_run()
    if run is None:
        with start_run() as own_run:
            return _log_into(own_run, model, name, options, registered_model_name)
    return _log_into(run, model, name, options, registered_model_name)


def _log_into(
    run: ActiveRun, model: Any, name: str, options: SaveOptions, registered: str | None
) -> ModelInfo:
    from modelpack._anchor import logged_model_tags
    from modelpack._registry import check_model_name, register_in_store
    from modelpack._save import save

    if registered is not None:
        check_model_name(registered)  # before writing anything
    store = _store_of(run)
    target = store.run_artifact_dir(run.run_id).joinpath(*name.split("/"))
    if target.exists():
        raise ModelExistsError(
            f"run {run.run_id} already has a model named {name!r}; log this one under another "
            "name, or in a new run"
        )
    info = save(model, target, replace(options, run_id=run.run_id, artifact_path=name))
    crash_point("log-model-before-commit")
    anchor = logged_model_tags(name, target)  # read before a remote store's upload empties it
    store.record_logged_model(
        LoggedModel(run.run_id, name, info.model_uuid, tuple(sorted(info.flavors)), now_ms())
    )
    store.log_batch(run.run_id, tags=anchor)  # runs:/ loads check MLmodel against it
    uri = f"runs:/{run.run_id}/{name}"
    version = None
    if registered is not None:
        version = register_in_store(store, uri, registered).version
    return replace(info, model_uri=uri, registered_model_version=version)

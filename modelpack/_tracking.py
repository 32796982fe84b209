"""Runs: start and end them, log params, metrics and tags, search them, and log models.

A run belongs to an experiment (``Default`` unless :func:`set_experiment` chose another) and
to the store in effect when it started. The active runs form a per-thread stack;
``log_param`` and friends write to the top one, starting a run when there is none.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from types import TracebackType
from typing import TYPE_CHECKING, Any

from modelpack._crash import crash_point
from modelpack._store import (
    RUN_STATUSES,
    TAG_PARENT,
    LoggedModel,
    Metric,
    NewRun,
    Run,
    RunQuery,
    get_store,
    now_ms,
    run_context_tags,
    user_name,
)
from modelpack.exceptions import ModelExistsError, StoreError

if TYPE_CHECKING:
    from modelpack._save import ModelInfo, SaveOptions
    from modelpack._store import Experiment, Store

__all__ = [
    "ActiveRun",
    "active_run",
    "end_run",
    "get_metric_history",
    "get_run",
    "log_metric",
    "log_metrics",
    "log_model_with",
    "log_param",
    "log_params",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]

DEFAULT_EXPERIMENT = "Default"
_state = threading.local()
_experiment_name: str | None = None


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


# ---------------------------------------------------------------------- experiments
def set_experiment(name: str) -> Experiment:
    """Make ``name`` the experiment new runs go to, creating it on first use.

    Parameters
    ----------
    name : str
        The experiment's name.

    Returns
    -------
    Experiment
    """
    global _experiment_name
    if not isinstance(name, str) or not name.strip():
        raise StoreError(f"an experiment name must be a non-empty string, got {name!r}")
    experiment = get_store().get_or_create_experiment(name)
    _experiment_name = name
    return experiment


def _current_experiment() -> str:
    return _experiment_name or DEFAULT_EXPERIMENT


# ---------------------------------------------------------------------- runs
def start_run(
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    experiment: str | None = None,
    nested: bool = False,
) -> ActiveRun:
    """Start a run and make it the active one.

    Use it as a context manager: the run ends when the block does, ``FAILED`` if it raised.
    The run records its source file, the git commit of the working tree (when in one) and
    the user as ``modelpack.*`` tags.

    Parameters
    ----------
    name : str, optional
        A readable run name.
    tags : dict, optional
        Tags to set on the run (values are stored as strings).
    experiment : str, optional
        The experiment (default: the one set with :func:`set_experiment`, else ``Default``).
    nested : bool
        Allow starting inside another active run; the parent's id is tagged on the child.

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
    store = stack[-1].store if stack and nested else get_store()
    assert store is not None
    exp = store.get_or_create_experiment(experiment or _current_experiment())
    all_tags = run_context_tags()
    if stack:
        all_tags[TAG_PARENT] = stack[-1].run_id
    all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
    run = store.create_run(NewRun(exp.experiment_id, name, user_name(), now_ms(), all_tags))
    active = ActiveRun(run.info, run.data, run.logged_models, store=store)
    stack.append(active)
    return active


def active_run() -> ActiveRun | None:
    """The run ``log_*`` calls write to in this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def _end(run: ActiveRun, status: str) -> None:
    stack = _stack()
    _store_of(run).set_run_status(run.run_id, status, now_ms())
    stack[:] = [r for r in stack if r.run_id != run.run_id]


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


# ---------------------------------------------------------------------- params, metrics, tags
def log_param(key: str, value: Any) -> Any:
    """Log one parameter of the active run (stored as a string; cannot change later)."""
    log_params({key: value})
    return value


def log_params(params: Mapping[str, Any]) -> None:
    """Log several parameters of the active run at once."""
    run = _run_for_logging()
    _store_of(run).log_batch(run.run_id, params={_key(k): str(v) for k, v in params.items()})


def log_metric(
    key: str, value: float, step: int | None = None, *, timestamp: int | None = None
) -> None:
    """Log one metric value of the active run.

    Parameters
    ----------
    key : str
        The metric's name.
    value : float
        Its value. Every value is kept; the run's value is the one at the highest step.
    step : int, optional
        Training step or epoch (default 0).
    timestamp : int, optional
        Milliseconds since the epoch (default: now).
    """
    log_metrics({key: value}, step=step, timestamp=timestamp)


def log_metrics(
    metrics: Mapping[str, float], step: int | None = None, *, timestamp: int | None = None
) -> None:
    """Log several metric values of the active run at one step."""
    run = _run_for_logging()
    when = now_ms() if timestamp is None else int(timestamp)
    values = [Metric(_key(k), _number(k, v), when, int(step or 0)) for k, v in metrics.items()]
    _store_of(run).log_batch(run.run_id, metrics=values)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run (setting it again replaces the value)."""
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    run = _run_for_logging()
    _store_of(run).log_batch(run.run_id, tags={_key(k): str(v) for k, v in tags.items()})


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise StoreError(f"param, metric and tag names must be non-empty strings, got {key!r}")
    return key


def _number(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as e:
        raise StoreError(f"metric {key!r} must be a number, got {value!r}") from e
    return number


# ---------------------------------------------------------------------- reading runs
def get_run(run_id: str) -> Run:
    """Fetch a run with its params, latest metrics, tags and logged models."""
    return get_store().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    """Every value logged for one metric of a run, by step."""
    return get_store().get_metric_history(run_id, key)


def search_runs(
    experiment_names: list[str] | None = None,
    filter: str | None = None,
    *,
    order_by: list[str] | None = None,
    max_results: int = 1000,
    search_all_experiments: bool = False,
) -> list[Run]:
    """Find runs by their metrics, params, tags and attributes.

    Parameters
    ----------
    experiment_names : list of str, optional
        Where to look (default: the current experiment, see :func:`set_experiment`).
    filter : str, optional
        Conditions joined by ``and``, e.g.
        ``"metrics.rmse < 7 and params.alpha = '0.1' and tags.team = 'ml'"``.
    order_by : list of str, optional
        E.g. ``["metrics.rmse ASC"]``; runs without the key come last. Default: newest first.
    max_results : int
        At most this many runs.
    search_all_experiments : bool
        Look in every experiment (``experiment_names`` is then ignored).

    Returns
    -------
    list of Run
        Each with ``.info``, ``.data.params``, ``.data.metrics``, ``.data.tags``;
        ``run.to_row()`` flattens one for a table.
    """
    if int(max_results) < 1:
        raise StoreError(f"max_results must be at least 1, got {max_results}")
    store = get_store()
    query: RunQuery = {"filter": filter, "order_by": order_by, "max_results": int(max_results)}
    if not search_all_experiments:
        names = experiment_names or [_current_experiment()]
        if isinstance(names, str):
            names = [names]
        query["experiment_ids"] = [store.get_experiment_by_name(n).experiment_id for n in names]
    return store.search_runs(query)


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
    store.record_logged_model(
        LoggedModel(run.run_id, name, info.model_uuid, tuple(sorted(info.flavors)), now_ms())
    )
    uri = f"runs:/{run.run_id}/{name}"
    version = None
    if registered is not None:
        version = register_in_store(store, uri, registered).version
    return replace(info, model_uri=uri, registered_model_version=version)

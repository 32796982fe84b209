"""One autologged training call: the run it logs into, its failures, and its silence.

Every patched training function goes through :func:`run_autologged`. Only the outermost call
in a thread logs (a Pipeline's steps and a search's candidates run inside it, one level deeper).
The user's training always runs: a failure of modelpack's own logging becomes one warning per
call, and an exception from the training itself propagates unchanged.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import modelpack
from modelpack.exceptions import ModelpackWarning, warn

__all__ = [
    "AUTOLOG_TAG",
    "Attempt",
    "Hooks",
    "Settings",
    "as_params",
    "estimator_tags",
    "is_active",
    "run_autologged",
    "set_settings",
    "settings_of",
    "state",
    "suppressed",
]

T = TypeVar("T")
H = TypeVar("H", bound="Hooks")

AUTOLOG_TAG = "mlflow.autologging"  # on runs autolog started: which integration did (as MLflow)
# MLflow's tracking server refuses longer param values; runs may be exported or served to it.
MAX_PARAM_LENGTH = 6000


@dataclass(frozen=True)
class Settings:
    """What one integration records (the arguments of its ``autolog`` call)."""

    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_models: bool = True
    exclusive: bool = False
    silent: bool = False
    registered_model_name: str | None = None
    extra_tags: tuple[tuple[str, str], ...] = ()
    max_tuning_runs: int | None = 5
    serialization_format: str | None = None
    pos_label: Any = None
    model_format: str = "ubj"


_enabled: dict[str, Settings] = {}


def settings_of(integration: str) -> Settings | None:
    """The settings of an enabled integration, None when it is disabled."""
    return _enabled.get(integration)


def set_settings(integration: str, settings: Settings | None) -> None:
    if settings is None:
        _enabled.pop(integration, None)
    else:
        _enabled[integration] = settings


class _State(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # autologged training calls in progress in this thread
        self.xgb_fit: Any = None  # an XGBoost scikit-learn fit whose booster training logs


state = _State()


def is_active(integration: str) -> bool:
    """Whether a call starting now should log: enabled, and not inside another training."""
    return not state.depth and integration in _enabled


@contextmanager
def suppressed() -> Iterator[None]:
    """Training inside this block is not autologged (cross-validation, for instance)."""
    state.depth += 1
    try:
        yield
    finally:
        state.depth -= 1


class Attempt:
    """The logging side of one training call: each failing part is kept and reported once."""

    def __init__(self, settings: Settings, what: str) -> None:
        self.settings = settings
        self.what = what
        self.failures: dict[str, str] = {}

    def run(self, part: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``fn(*args, **kwargs)``, or None when it raised (the error is kept for the report)."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            self.failures.setdefault(part, f"{type(e).__name__}: {e}")
            return None

    @contextmanager
    def quietly(self) -> Iterator[None]:
        """With ``silent=True``, modelpack's warnings are not shown inside the block."""
        if not self.settings.silent:
            yield
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelpackWarning)
            yield

    def report(self) -> None:
        if not self.failures or self.settings.silent:
            return
        parts = "; ".join(f"{part} ({error})" for part, error in self.failures.items())
        warn(
            f"autolog could not record everything for {self.what}: {parts}. The model was "
            "trained and returned as usual; what was recorded is in the run"
        )


class Hooks(Protocol):
    """What an integration logs around one training call."""

    def before(self) -> None: ...

    def after(self, result: Any) -> None: ...


def run_autologged(
    integration: str,
    what: str,
    make_hooks: Callable[[Attempt], H],
    invoke: Callable[[H | None], T],
) -> T:
    """Run ``invoke`` (the training) with logging around it, as the outermost training call.

    ``make_hooks`` reads the training inputs before training; ``invoke`` receives the hooks
    (None when logging is off or could not be prepared) and runs the original function.
    """
    settings = _enabled.get(integration)
    if settings is None or state.depth:
        return invoke(None)
    state.depth += 1
    try:
        return _logged(integration, settings, what, make_hooks, invoke)
    finally:
        state.depth -= 1


def _logged(
    integration: str,
    settings: Settings,
    what: str,
    make_hooks: Callable[[Attempt], H],
    invoke: Callable[[H | None], T],
) -> T:
    user_run = modelpack.active_run()
    if user_run is not None and settings.exclusive:
        return invoke(None)
    attempt = Attempt(settings, what)
    own_run = None
    with attempt.quietly():
        hooks = attempt.run("the training inputs", make_hooks, attempt)
        if hooks is not None and user_run is None:
            tags = {AUTOLOG_TAG: integration, **dict(settings.extra_tags)}
            own_run = attempt.run("a run to log into", modelpack.start_run, tags=tags)
            if own_run is None:
                hooks = None
        if hooks is not None:
            attempt.run("the parameters", hooks.before)
    try:
        result = invoke(hooks)
    except BaseException as e:
        if own_run is not None:  # FAILED, or KILLED on Ctrl-C, as a `with start_run()` block
            with attempt.quietly():
                attempt.run("the run's end", own_run.__exit__, type(e), e, e.__traceback__)
        try:
            attempt.report()
        except Exception:  # warnings turned into errors must not replace the user's error
            pass
        raise
    with attempt.quietly():
        if hooks is not None:
            attempt.run("the results", hooks.after, result)
        if own_run is not None:
            attempt.run("the run's end", own_run.__exit__, None, None, None)
    attempt.report()
    return result


def as_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Parameters as the strings a run stores, each cut to the length MLflow accepts."""
    return {str(k): str(v)[:MAX_PARAM_LENGTH] for k, v in params.items()}


def estimator_tags(estimator: Any) -> dict[str, str]:
    """MLflow's ``estimator_name`` and ``estimator_class`` tags."""
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}

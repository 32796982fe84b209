"""What a migration's target refuses to hold, and going on without it.

Targets differ in what they accept: MLflow's server refuses a param or tag key over 250
characters, a param value over 6,000 or a run tag value over 8,000, an experiment name over
500, and keeps one copy of a metric value logged twice with the same step and timestamp;
modelpack's own stores take all of these. A refused value (``ValueError``: the store's
``INVALID_PARAMETER_VALUE``) is counted by kind with the target's first message, the
migration goes on without it, and :meth:`Refusals.lines` reports one line per kind.

A batch the target refuses is sent again in smaller parts (one key at a time, then one value
at a time), so only the refused items are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from modelpack._store._base import Store
from modelpack._store._entities import Metric, RunData

__all__ = ["Refusals", "count_changes", "log_run_data"]

_T = TypeVar("_T")


@dataclass
class Refusals:
    """Items the target refused, by kind: how many, and the target's first message."""

    counts: Counter[str] = field(default_factory=Counter)
    messages: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, error: BaseException | str, n: int = 1) -> None:
        self.counts[kind] += n
        text = " ".join(str(error).split())
        self.messages.setdefault(kind, text[:300])

    def attempt(self, kind: str, call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T | None:
        """``call(*args, **kwargs)``, or None when the target refuses a value (counted under
        ``kind``)."""
        try:
            return call(*args, **kwargs)
        except ValueError as e:
            self.add(kind, e)
            return None

    def lines(self, target: str) -> list[str]:
        """One line per kind of item not kept as it was."""
        return [
            f"not kept by {target}: {n} {kind}: {self.messages[kind]}"
            for kind, n in sorted(self.counts.items())
        ]


def log_run_data(
    target: Store,
    run_id: str,
    refusals: Refusals,
    *,
    params: Mapping[str, str],
    tags: Mapping[str, str],
    metrics: Sequence[Metric],
    batch: int,
) -> None:
    """Log params, tags and metrics to the run, leaving out (and counting) what is refused."""
    try:
        target.log_batch(run_id, params=params, tags=tags)
    except ValueError:
        for key, value in params.items():
            refusals.attempt("params (refused)", target.log_batch, run_id, params={key: value})
        for key, value in tags.items():
            refusals.attempt("run tags (refused)", target.log_batch, run_id, tags={key: value})
    for start in range(0, len(metrics), batch):
        part = list(metrics[start : start + batch])
        try:
            target.log_batch(run_id, metrics=part)
        except ValueError:
            _log_metrics_apart(target, run_id, part, refusals)


def _log_metrics_apart(
    target: Store, run_id: str, metrics: list[Metric], refusals: Refusals
) -> None:
    """A refused batch of metrics again, key by key, then value by value within a key."""
    by_key: dict[str, list[Metric]] = {}
    for metric in metrics:
        by_key.setdefault(metric.key, []).append(metric)
    for values in by_key.values():
        try:
            target.log_batch(run_id, metrics=values)
            continue
        except ValueError:
            pass
        for metric in values:
            refusals.attempt("metric values (refused)", target.log_batch, run_id, metrics=[metric])


def count_changes(
    refusals: Refusals, source: RunData, copy: RunData, *, skip_tags: frozenset[str]
) -> None:
    """Count the values the target kept in another form (MLflow's server cuts a param value
    to 6,000 characters and stores an infinite metric as the largest float)."""
    for key, value in source.params.items():
        got = copy.params.get(key)
        if got is not None and got != value:
            refusals.add("params (changed)", f"{key!r}: {len(value)} characters, {len(got)} kept")
    for key, value in source.tags.items():
        got = copy.tags.get(key)
        if key not in skip_tags and got is not None and got != value:
            refusals.add("run tags (changed)", f"{key!r}: {len(value)} characters, {len(got)} kept")
    for key, number in source.metrics.items():
        kept = copy.metrics.get(key)
        if kept is not None and not _same_number(kept, number):
            refusals.add("metric values (changed)", f"{key!r}: {number!r} stored as {kept!r}")


def _same_number(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)  # NaN equals NaN here

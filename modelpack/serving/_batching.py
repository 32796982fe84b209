"""Adaptive batching: concurrent requests merged into one ``predict`` call, results split back.

Requests with the same batch key (same columns, same parameters) that are waiting together
are concatenated row-wise and predicted in one call; the output is cut back into each
request's rows, in order. ``predict`` runs on the event loop, so the requests that arrive
while one call runs queue up and form the next batch: the batch size follows the load with no
timer. By default a batch goes at the end of the loop turn in which its first request queued
(every request already read has joined by then); ``max_latency`` lets a lone request wait for
companions, but only until every request that could join has. A request that is alone in the
process (nothing queued, no other request read: ``alone()``) and would not wait is predicted at
once, without the queue's future and extra loop turn: no other request could have joined it.

Only models whose predict is row-wise (``PyFuncModel.row_wise``) are batched. When a merged
call fails, or its output cannot be cut into rows, each request is predicted on its own, so
a bad request gets its own error and never spoils its neighbours' results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any

from modelpack.serving._payload import Inputs

__all__ = ["Batcher", "merge", "run_one", "split"]

#: (True, output) or (False, the exception predict raised)
Outcome = tuple[bool, Any]
Predict = Callable[[Any, "dict[str, Any] | None"], Any]


def run_one(predict: Predict, inputs: Inputs) -> Outcome:
    try:
        return True, predict(inputs.data, inputs.params)
    except Exception as e:
        return False, e


def merge(datas: list[Any]) -> Any:
    """Concatenate the row-wise inputs of several requests (all of the same layout)."""
    first = datas[0]
    if isinstance(first, dict):
        if isinstance(next(iter(first.values())), list):
            return {k: list(chain.from_iterable(d[k] for d in datas)) for k in first}
        import numpy as np

        return {k: np.concatenate([d[k] for d in datas]) for k in first}
    import numpy as np

    return np.concatenate(datas)


def split(out: Any, counts: list[int]) -> list[Any] | None:
    """Cut a merged output into consecutive pieces of ``counts`` rows, or None if it can't be."""
    total = sum(counts)
    if isinstance(out, dict):
        if not all(_length(v) == total for v in out.values()):
            return None
        columns: dict[Any, list[Any]] = {k: split(v, counts) or [] for k, v in out.items()}
        return [{k: parts[i] for k, parts in columns.items()} for i in range(len(counts))]
    if _length(out) != total:
        return None
    rows = getattr(out, "iloc", out)  # pandas objects are cut by position
    pieces, start = [], 0
    for n in counts:
        pieces.append(rows[start : start + n])
        start += n
    return pieces


def _length(value: Any) -> int:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return -1
    if getattr(value, "ndim", 1) == 0:
        return -1
    return len(value)


class _Queue:
    __slots__ = ("items", "rows")

    def __init__(self) -> None:
        self.items: list[tuple[Inputs, asyncio.Future[Any]]] = []
        self.rows = 0


class Batcher:
    """Collects requests and runs them in merged ``predict`` calls on the event loop.

    ``complete(queued)`` tells whether every request that could join a batch has joined
    (so it can go now); otherwise the batch waits up to ``max_latency`` seconds for the rest.
    """

    def __init__(
        self,
        predict: Predict,
        *,
        max_rows: int,
        max_latency: float,
        complete: Callable[[int], bool] = lambda queued: True,
        on_batch: Callable[[int, int], None] | None = None,
        alone: Callable[[], bool] | None = None,
    ) -> None:
        self._predict = predict
        self._max_rows = max(1, max_rows)
        self._max_latency = max(0.0, max_latency)
        self._complete = complete
        self._on_batch = on_batch
        self._alone = alone
        self._queues: dict[Hashable, _Queue] = {}
        self._queued = 0
        self._timer: asyncio.TimerHandle | None = None
        self._soon: asyncio.Handle | None = None

    @property
    def queued(self) -> int:
        """Requests waiting for their batch to run."""
        return self._queued

    async def submit(self, inputs: Inputs) -> Outcome:
        """Queue one request; resolves to its own slice of the merged output."""
        if (
            not self._queued
            and self._alone is not None
            and self._alone()
            and (not self._max_latency or self._complete(1))
        ):
            return self._run_batch([inputs])[0]
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        queue = self._queues.get(inputs.key)
        if queue is None:
            queue = self._queues[inputs.key] = _Queue()
        queue.items.append((inputs, fut))
        queue.rows += inputs.rows
        self._queued += 1
        if queue.rows >= self._max_rows:
            self._flush()
        else:
            self.poke()
        outcome: Outcome = await fut
        return outcome

    def poke(self) -> None:
        """Re-check whether the queued batch can go (called when a request finishes)."""
        if not self._queued or self._soon is not None:
            return
        loop = asyncio.get_running_loop()
        if self._complete(self._queued) or not self._max_latency:
            # at the end of this loop turn, once the requests already read have queued too
            self._soon = loop.call_soon(self._flush)
        elif self._timer is None:
            self._timer = loop.call_later(self._max_latency, self._flush)

    def _take(self) -> list[list[tuple[Inputs, asyncio.Future[Any]]]]:
        """Everything queued, cut into batches of at most ``max_rows`` rows."""
        batches = []
        for queue in self._queues.values():
            batch: list[tuple[Inputs, asyncio.Future[Any]]] = []
            rows = 0
            for item in queue.items:
                if batch and rows + item[0].rows > self._max_rows:
                    batches.append(batch)
                    batch, rows = [], 0
                batch.append(item)
                rows += item[0].rows
            batches.append(batch)
        self._queues.clear()
        self._queued = 0
        return batches

    def _flush(self) -> None:
        for handle in (self._timer, self._soon):
            if handle is not None:
                handle.cancel()
        self._timer = self._soon = None
        for batch in self._take():
            try:
                outcomes = self._run_batch([inputs for inputs, _ in batch])
            except Exception as e:  # a bug here must not leave requests waiting forever
                outcomes = [(False, e)] * len(batch)
            _resolve(batch, outcomes)

    def _run_batch(self, items: list[Inputs]) -> list[Outcome]:
        if len(items) > 1:
            try:
                merged = merge([inputs.data for inputs in items])
            except Exception as e:  # inputs that do not concatenate after all
                ok, out = False, e
            else:
                ok, out = run_one(self._predict, Inputs(merged, 0, None, items[0].params))
            pieces = split(out, [inputs.rows for inputs in items]) if ok else None
            if pieces is not None:
                if self._on_batch is not None:
                    self._on_batch(len(items), sum(inputs.rows for inputs in items))
                return [(True, piece) for piece in pieces]
        # one request, or the merged call failed: each request on its own
        outcomes = []
        for inputs in items:
            outcomes.append(run_one(self._predict, inputs))
            if self._on_batch is not None:
                self._on_batch(1, inputs.rows)
        return outcomes


def _resolve(batch: list[tuple[Inputs, asyncio.Future[Any]]], outcomes: list[Outcome]) -> None:
    for (_, fut), outcome in zip(batch, outcomes):
        if not fut.done():  # the client may have gone away
            fut.set_result(outcome)

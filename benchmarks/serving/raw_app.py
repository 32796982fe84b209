"""The bare raw-work app: what answering a 1-row request costs with no checks at all.

A raw ASGI app, served by ``bench_serving.py`` with ``uvicorn --loop uvloop --http httptools``
like the fixed-body ceiling, that does only the work a scoring request needs: read the body,
parse it with orjson, call the raw model's ``predict`` (for the taxi model, the DictVectorizer's
``transform`` first) and write the predictions with orjson. No signature, no limits, no error
handling, no logs, no metrics: a floor for the per-request cost of a real server of the same
model on the same stack.

It reads ``dataframe_split`` bodies (``{"columns": [...], "data": [[...], ...]}``), the format
the benchmark sends every server by default, and ``dataframe_records`` (``--format records``). The model is the pickle named by ``RAW_MODEL``, written by
the benchmark: ``("array", estimator)`` for a model that takes a float matrix, or
``("records", (vectorizer, estimator))`` for one that takes dict records.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np
import orjson

with open(os.environ["RAW_MODEL"], "rb") as f:
    KIND, MODEL = pickle.load(f)  # the benchmark's own file, written in this run

HEADERS = [(b"content-type", b"application/json")]
OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def predict(body: bytes) -> Any:
    doc = orjson.loads(body)
    split = doc.get("dataframe_split")
    if KIND == "records":
        vectorizer, estimator = MODEL
        if split is None:
            records = doc["dataframe_records"]
        else:
            columns = split["columns"]
            records = [dict(zip(columns, row)) for row in split["data"]]
        return estimator.predict(vectorizer.transform(records))
    rows = (
        split["data"] if split is not None else [list(r.values()) for r in doc["dataframe_records"]]
    )
    return MODEL.predict(np.array(rows, dtype=np.float64))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    if scope["path"] == "/ping":
        body = b"{}"
    else:
        body = orjson.dumps({"predictions": predict(b"".join(chunks))}, option=OPTIONS)
    headers = [*HEADERS, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

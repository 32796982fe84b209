"""Small requests that decode to huge data are refused before the data is built (issue 13, 5).

A real ``modelpack serve`` on 127.0.0.1 with its default limits (1,000,000 cells, 64 MiB
bodies). Each hostile body is answered 413 in JSON, and the server's memory is measured around
it: the refusal must neither build the data (peak) nor keep what it read (after). The bounds
are loose on purpose (the body itself is buffered once); the failures they catch are of
gigabytes.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving._helpers import (
    Server,
    memory_mib,
    request,
    reset_peak_memory,
    save_taxi_model,
    start_server,
)

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")

PARQUET = "application/vnd.apache.parquet"
#: what a refused request may leave held, and what it may add at its peak, in MiB
HELD_MIB = 200
PEAK_MIB = 600


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, taxi: Any, taxi_dv_lr: Any
) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("serving-limits")
    model = save_taxi_model(work / "taxi-model", taxi, taxi_dv_lr)
    srv = start_server(model, work / "server.log", "--name", "taxi")
    yield srv
    srv.stop()


def refused_within_memory(server: Server, body: bytes, content_type: str) -> dict[str, Any]:
    """POST ``body``, expect 413 JSON, check the memory it cost; returns the error body."""
    # one ordinary request first, so what the first request allocates is not counted
    assert request(server.port, "POST", "/invocations", ONE_ROW).status == 200
    reset_peak_memory(server.proc.pid)
    before = memory_mib(server.proc.pid)
    resp = request(
        server.port, "POST", "/invocations", body, content_type=content_type, timeout=300
    )
    after = memory_mib(server.proc.pid)
    assert resp.status == 413, resp.body[:500]
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()
    assert error["error_code"] == "REQUEST_TOO_LARGE"
    assert after["VmRSS"] - before["VmRSS"] < HELD_MIB, (before, after)
    assert after["VmHWM"] - before["VmRSS"] < PEAK_MIB, (before, after)
    # and the server still answers
    assert request(server.port, "POST", "/invocations", ONE_ROW).status == 200
    return error  # type: ignore[no-any-return]


ONE_ROW = json.dumps({"dataframe_records": [{"PU_DO": "43_151", "trip_distance": 1.8}]})


def parquet(table: Any, **kw: Any) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)
    return buf.getvalue()


# ------------------------------------------------------------------------------- Parquet
def test_parquet_of_50m_rows_is_refused_from_its_footer(server: Server) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    chunk = pa.table({"trip_distance": np.zeros(1_000_000)})
    with pq.ParquetWriter(buf, chunk.schema, compression="zstd") as writer:
        for _ in range(50):
            writer.write_table(chunk)
    body = buf.getvalue()
    assert len(body) < 1_000_000  # a small body ...
    error = refused_within_memory(server, body, PARQUET)  # ... that would be 400 MB of rows
    assert "50,000,000 cells" in error["message"]
    assert "--max-cells" in error["message"]


def test_parquet_text_column_that_decodes_to_gigabytes_is_refused(server: Server) -> None:
    import numpy as np
    import pyarrow as pa

    # 900,000 rows pointing at one 10 KB string: 2 KB stored, 9 GB decoded
    text = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(900_000, dtype=np.int32)), pa.array(["x" * 10_000])
    )
    body = parquet(pa.table({"PU_DO": text}), compression="zstd", store_schema=False)
    assert len(body) < 100_000
    error = refused_within_memory(server, body, PARQUET)
    assert "decodes to 9,000,000,000 bytes" in error["message"]


def test_parquet_within_the_limits_is_answered(server: Server) -> None:
    import pyarrow as pa

    body = parquet(pa.table({"PU_DO": ["43_151", "1_2"], "trip_distance": [1.8, 7.25]}))
    resp = request(server.port, "POST", "/invocations", body, content_type=PARQUET)
    assert resp.status == 200, resp.body
    assert len(resp.json()["predictions"]) == 2


# ---------------------------------------------------------------------------------- JSON
def test_60_mb_of_empty_records_is_refused_before_parsing(server: Server) -> None:
    body = b'{"dataframe_records": [' + b"{}," * 20_000_000 + b"{}]}"
    error = refused_within_memory(server, body, "application/json")
    assert "20,000,001 JSON values" in error["message"]


def test_records_with_many_different_keys_are_refused_before_the_table(server: Server) -> None:
    # 1,000 records of 1,000 keys each, every key different: 1M values in the body, but a
    # table of 1,000,000 columns x 1,000 rows once the missing keys are filled in
    records = [{f"k{r}_{c}": 1 for c in range(1000)} for r in range(1000)]
    body = json.dumps({"dataframe_records": records}).encode()
    error = refused_within_memory(server, body, "application/json")
    assert "1,000 rows x 1,000,000 columns" in error["message"]


def test_a_long_list_of_rows_is_refused(server: Server) -> None:
    body = json.dumps({"instances": [[1.0, 2.0]] * 600_000}).encode()
    error = refused_within_memory(server, body, "application/json")
    assert "more than the limit of 1,000,000 cells" in error["message"]


def test_text_full_of_commas_is_not_counted_as_values(server: Server) -> None:
    # 2 rows whose strings hold 3 million commas: far fewer cells than the limit
    rows = [{"PU_DO": "," * 1_500_000, "trip_distance": 1.0}, {"PU_DO": "1_2", "trip_distance": 2}]
    resp = request(server.port, "POST", "/invocations", {"dataframe_records": rows})
    assert resp.status == 200, resp.body[:300]


# ----------------------------------------------------------------------------------- CSV
def test_csv_of_millions_of_rows_is_refused_without_reading_them(server: Server) -> None:
    body = b"PU_DO,trip_distance\n" + b"43_151,1.5\n" * 3_000_000
    error = refused_within_memory(server, body, "text/csv")
    assert "more than 500,000 rows of 2 columns" in error["message"]


def test_csv_header_of_a_million_columns_is_refused(server: Server) -> None:
    body = b",".join(b"c%d" % i for i in range(1_100_000)) + b"\n"
    error = refused_within_memory(server, body, "text/csv")
    assert "1,100,000 columns" in error["message"]


# ------------------------------------------------------------------- the limit is settable
def test_the_cell_limit_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taxi_dv_lr: Any, taxi: Any
) -> None:
    from serving._helpers import call_asgi

    from modelpack.serving import create_app

    monkeypatch.setenv("MODELPACK_SERVE_MAX_CELLS", "10")
    app = create_app(save_taxi_model(tmp_path / "m", taxi, taxi_dv_lr), access_log=False)
    assert app.config.max_cells == 10
    row = {"PU_DO": "43_151", "trip_distance": 1.8}
    headers = [(b"content-type", b"application/json")]
    ok = json.dumps({"dataframe_records": [row] * 5}).encode()
    too_many = json.dumps({"dataframe_records": [row] * 6}).encode()  # 12 cells
    assert call_asgi(app, "POST", "/invocations", ok, headers=headers).status == 200
    resp = call_asgi(app, "POST", "/invocations", too_many, headers=headers)
    assert resp.status == 413
    assert "12 cells (6 rows x 2 columns)" in resp.json()["message"]
    # an explicit argument wins over the environment
    assert create_app(app.model, max_cells=100, access_log=False).config.max_cells == 100


@pytest.mark.parametrize("value", ["0", "-5", "lots", "inf"])
def test_a_bad_limit_in_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, taxi_model_dir: Path, value: str
) -> None:
    from modelpack.serving import create_app

    monkeypatch.setenv("MODELPACK_SERVE_MAX_CELLS", value)
    with pytest.raises(ValueError, match="MODELPACK_SERVE_MAX_CELLS"):
        create_app(taxi_model_dir, access_log=False)


def test_the_cli_flag_sets_the_cell_limit(tmp_path: Path, taxi: Any, taxi_dv_lr: Any) -> None:
    model = save_taxi_model(tmp_path / "model", taxi, taxi_dv_lr)
    server = start_server(model, tmp_path / "server.log", "--max-cells", "4")
    try:
        rows = [{"PU_DO": "43_151", "trip_distance": 1.0 + i} for i in range(3)]  # 6 cells
        refused = server.post("/invocations", {"dataframe_records": rows})
        assert refused.status == 413, refused.body
        assert json.loads(refused.body)["error_code"]
        fits = server.post("/invocations", {"dataframe_records": rows[:2]})  # 4 cells
        assert fits.status == 200, fits.body
    finally:
        server.stop()

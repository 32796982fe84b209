"""Pack -> unpack elsewhere -> the entry scripts install offline -> serve and predict for real.

The scripts' installers get no index and no pip/uv configuration from this machine, and every
proxy variable points at a closed port, so a single network request would fail the install:
everything comes from the bundle's wheelhouse.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelpack.pack._bundle import unpack

pytestmark = pytest.mark.slow


def test_pack_unpack_install_offline_serve_and_predict(
    tmp_path: Path, bundle_archive: Path, taxi: Any, taxi_dv_lr: Any, http: Any
) -> None:
    frame, records, _ = taxi
    dv, lr = taxi_dv_lr
    expected = lr.predict(dv.transform(records[:25]))
    root = unpack(bundle_archive, tmp_path / "fresh-machine")
    env = http.no_network_env(with_uv=True)
    port = http.free_port()
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - read after the server stops
    proc = subprocess.Popen(
        [str(root / "serve"), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            http.wait_ready(url, proc)
        except AssertionError:
            log.seek(0)
            raise AssertionError(log.read()[-4000:]) from None
        split = {"columns": list(frame.columns), "data": frame.head(25).to_numpy().tolist()}
        answer = http.post_json(f"{url}/invocations", {"dataframe_split": split})
        np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-9)
        answer = http.post_json(f"{url}/invocations", {"dataframe_records": records[:3]})
        np.testing.assert_allclose(answer["predictions"], expected[:3], rtol=1e-9)
    finally:
        http.stop(proc)
        log.close()
    assert "--no-index" in (tmp_path / "serve.log").read_text()
    assert (root / ".env" / "bin" / "python").exists()

    # ./predict reuses the environment made by ./serve (no second install).
    frame.head(25).to_csv(tmp_path / "trips.csv", index=False)
    out = tmp_path / "scored.csv"
    done = subprocess.run(
        [str(root / "predict"), "-i", str(tmp_path / "trips.csv"), "-o", str(out), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "pip install" not in done.stderr
    import pandas as pd

    np.testing.assert_allclose(pd.read_csv(out)["prediction"], expected, rtol=1e-9)

"""The progress bar: drawn only on a terminal, throttled, ends with a newline."""

from __future__ import annotations

import io

from modelpack.pack._progress import Progress, human_size


def test_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress(100, "download", stream=out) as bar:
        bar.advance(50)
    assert out.getvalue() == ""


def test_draws_when_enabled() -> None:
    out = io.StringIO()
    with Progress(2048, "wheel.whl", stream=out, enabled=True) as bar:
        bar.advance(1024)
        bar.advance(1024)
    text = out.getvalue()
    assert text.startswith("\rwheel.whl [") and text.endswith("\n")
    assert "100% 2.0 KB/2.0 KB" in text


def test_unknown_total_shows_bytes() -> None:
    out = io.StringIO()
    with Progress(None, "stream", stream=out, enabled=True) as bar:
        bar.advance(3 * 1024 * 1024)
    assert "stream 3.0 MB" in out.getvalue()
    assert human_size(512) == "512 B"

"""The progress line: drawn only on a terminal, throttled, ends with a newline; bytes or rows."""

from __future__ import annotations

import io

from modelpack._progress import Progress, human_size


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


def test_rows_line_contents() -> None:
    stream = io.StringIO()
    progress = Progress(1000, unit="rows", stream=stream, interval=0)
    progress.update(250)
    line = progress.line(progress._start + 10)  # 250 rows in 10 s
    assert line.startswith("[#####...............]  25%")
    assert "250/1,000 rows" in line and "25 rows/s" in line and "ETA 0:00:30" in line
    unknown = Progress(unit="rows", stream=io.StringIO())
    unknown.update(10, fraction=None)
    assert "ETA" not in unknown.line(unknown._start + 1)
    by_bytes = Progress(unit="rows", stream=io.StringIO())
    by_bytes.update(100, fraction=0.5)
    assert "ETA 0:00:02" in by_bytes.line(by_bytes._start + 2)


def test_message_keeps_the_line_intact() -> None:
    out = io.StringIO()
    progress = Progress(10, unit="rows", stream=out, enabled=True, interval=0)
    progress.update(5)
    progress.message("modelpack: skipped row 3")
    progress.close()
    text = out.getvalue()
    assert "\r\x1b[Kmodelpack: skipped row 3\n" in text and text.endswith("\n")
    assert "10/10 rows" not in text and "5/10 rows" in text

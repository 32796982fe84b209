"""A real ``modelpack ui`` process over a filled store, and one headless Chromium per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests._services import free_port, wait_for_port

TOKEN = "ui-test-token"
CHROMIUM = "/usr/bin/chromium"


@dataclass
class UI:
    url: str
    store: Path
    log: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        path: str,
        body: Any = None,
        *,
        method: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method or ("GET" if body is None else "POST")
        )
        request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                kind = response.headers.get("content-type", "")
                return response.status, json.loads(raw) if "json" in kind else raw
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"{}")
            except ValueError:
                return e.code, raw.decode("utf-8", "replace")


def _start(store: Path, log: Path, *args: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {**os.environ, "MODELPACK_STORE_URI": str(store)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelpack",
                "ui",
                "--store",
                str(store),
                "--port",
                str(port),
                *list(args),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    wait_for_port(port, timeout=60, proc=process)
    return f"http://127.0.0.1:{port}", process


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("ui") / "store"
    env = {**os.environ, "MODELPACK_STORE_URI": str(store)}
    script = Path(__file__).with_name("_make_store.py")
    subprocess.run(
        [sys.executable, str(script)], check=True, env=env, cwd=Path(__file__).parents[2]
    )
    return store


@pytest.fixture(scope="session")
def ui(ui_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    folder = tmp_path_factory.mktemp("ui-server")
    token_file = folder / "token"
    token_file.write_text(f"# the UI's write token\n{TOKEN}\n")
    log = folder / "ui.log"
    url, process = _start(ui_store, log, "--auth-token-file", str(token_file))
    yield UI(url, ui_store, log, process, {"MODELPACK_STORE_URI": str(ui_store)})
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def readonly_ui(ui_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    log = tmp_path_factory.mktemp("ui-ro") / "ui.log"
    url, process = _start(ui_store, log)
    yield UI(url, ui_store, log, process)
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"the browser tests need Debian's chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()

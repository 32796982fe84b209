"""Fixtures for the PostgreSQL store tests: the session's cluster (tests/conftest.py), real
``modelpack server`` processes (tests/server/conftest.py) and clean tracking state.

The store's general behaviour runs on PostgreSQL from tests/store (each test there has a
``[postgresql]`` id); this folder holds what is about PostgreSQL itself: URIs, concurrency
between processes, schema versions, outages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conftest import start_server  # noqa: F401 (a fixture used here too)


@pytest.fixture(autouse=True)
def _clean_tracking_state() -> Iterator[None]:
    yield
    import modelpack
    from modelpack import _store

    while modelpack.active_run() is not None:
        modelpack.end_run()
    modelpack.set_store_uri(None)
    _store.close_stores()

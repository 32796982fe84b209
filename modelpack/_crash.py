"""A test hook: stop the process dead at a named point, as a power cut or the OOM killer would.

The crash-safety tests set ``MODELPACK_TEST_CRASH_AT`` to a point's name in a child process and
check what a kill at that exact place leaves behind. The points sit where a crash matters: in
``log_model`` between writing the files and recording them, and inside a store's write
transactions. Outside the tests the hook is one environment lookup.
"""

from __future__ import annotations

import os
import signal
import time

__all__ = ["CRASH_ENV", "crash_point"]

#: the name of the point at which the process kills itself
CRASH_ENV = "MODELPACK_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL when ``MODELPACK_TEST_CRASH_AT`` names this point.

    No cleanup of any kind runs (no ``finally``, no ``atexit``, no rollback).
    """
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(10)  # the signal is delivered asynchronously

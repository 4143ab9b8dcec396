"""A stop request shared by the threads of one process: SIGTERM or SIGINT asks, readers obey.

Prefect turns SIGTERM into an exception in the main thread, and Ctrl-C is a KeyboardInterrupt
there too; but detection reads in a worker thread, which no signal reaches, and the process
waits for that thread before it exits. So whoever sees the signal calls `request_stop()`, and
the reading loop checks `stop_requested()` between batches: it stops after committing the
batch in hand, leaving the cursor and the incidents consistent, within seconds.
"""

from __future__ import annotations

import threading

_STOP = threading.Event()


def request_stop() -> None:
    """Ask every reading loop of this process to stop after its current batch."""
    _STOP.set()


def stop_requested() -> bool:
    """Whether this process was asked to stop."""
    return _STOP.is_set()


def clear_stop() -> None:
    """Forget a stop request (for a process that goes on, such as a test session)."""
    _STOP.clear()

"""Heartbeating a long activity from a background thread, a few times per heartbeat timeout.

A long activity heartbeats even while one statement or one gateway call takes long, so its heartbeat
timeout can be short: when the worker dies, Temporal notices within that timeout and retries the
activity on another worker (instead of waiting out a long timeout or the start-to-close one).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity

BEATS_PER_TIMEOUT = 4


@contextmanager
def heartbeating() -> Iterator[None]:
    """Heartbeat every quarter of this activity's heartbeat timeout until the block ends."""
    if not activity.in_activity() or not activity.info().heartbeat_timeout:
        yield
        return
    timeout = activity.info().heartbeat_timeout
    assert timeout is not None
    every = max(timeout.total_seconds() / BEATS_PER_TIMEOUT, 0.1)
    stop = threading.Event()
    context = contextvars.copy_context()

    def beat() -> None:
        while not stop.wait(every):
            context.run(activity.heartbeat)

    activity.heartbeat()
    thread = threading.Thread(target=beat, name="activity-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

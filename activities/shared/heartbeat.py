"""Heartbeating a long activity from a background thread, a few times per heartbeat timeout.

A long activity heartbeats even while one statement or one gateway call takes long, so its heartbeat
timeout can be short: when the worker dies, Temporal notices within that timeout and retries the
activity on another worker (instead of waiting out a long timeout or the start-to-close one).

One daemon thread per process beats for every activity inside ``heartbeating()``; it is started on
first use, so an activity never starts a thread of its own (a thread start per activity call once hung a
worker shutdown in the test suite).
"""

from __future__ import annotations

import contextvars
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from temporalio import activity

BEATS_PER_TIMEOUT = 4


@dataclass
class _Beat:
    context: contextvars.Context
    every: float
    due: float


class _Beater:
    """The process's heartbeat thread and the activities it beats for."""

    def __init__(self) -> None:
        self._beats: dict[int, _Beat] = {}
        self._ids = itertools.count()
        self._changed = threading.Condition()
        self._beating = threading.Lock()  # held while a heartbeat is sent: leaving waits for it
        self._thread: threading.Thread | None = None

    def add(self, context: contextvars.Context, every: float) -> int:
        with self._changed:
            key = next(self._ids)
            self._beats[key] = _Beat(context, every, time.monotonic() + every)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="activity-heartbeat", daemon=True)
                self._thread.start()
            self._changed.notify()
            return key

    def remove(self, key: int) -> None:
        with self._beating, self._changed:
            self._beats.pop(key, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [(k, b) for k, b in self._beats.items() if b.due <= now]
                if not due:
                    soonest = min((b.due for b in self._beats.values()), default=now + 60)
                    self._changed.wait(max(soonest - now, 0.01))
                    continue
                for _, beat in due:
                    beat.due = now + beat.every
            for key, beat in due:
                with self._beating:
                    if key in self._beats:
                        beat.context.run(activity.heartbeat)


_BEATER = _Beater()


@contextmanager
def heartbeating() -> Iterator[None]:
    """Heartbeat every quarter of this activity's heartbeat timeout until the block ends."""
    if not activity.in_activity() or not activity.info().heartbeat_timeout:
        yield
        return
    timeout = activity.info().heartbeat_timeout
    assert timeout is not None
    activity.heartbeat()
    key = _BEATER.add(contextvars.copy_context(), max(timeout.total_seconds() / BEATS_PER_TIMEOUT, 0.1))
    try:
        yield
    finally:
        _BEATER.remove(key)

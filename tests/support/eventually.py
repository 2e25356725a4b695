"""``eventually``: wait for something another process or thread does, instead of a hand-written polling loop.

A probe is called every ``interval`` seconds until it returns a value that ``until`` accepts, and that value
is returned. A probe that raises one of ``retry_on`` (by default ``AssertionError``) is tried again. When
``timeout`` seconds have passed it fails with an ``AssertionError`` naming what was awaited and showing the
last value or the last failure, so a timed-out test says what it saw:

    body = await eventually_async(lambda: get_json(api, url), until=lambda b: b["status"] == "completed",
                                  what=f"{url} completed", timeout=30)
    eventually(held.exists, timeout=60, what=f"{held}", context=log.read_text)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 10.0
INTERVAL = 0.05


def _failure(
    what: str, timeout: float, value: object, error: BaseException | None, context: Callable[[], str] | None
) -> AssertionError:
    seen = f"last failure: {error!r}" if error is not None else f"last value: {value!r}"
    more = f"\n{context()}" if context is not None else ""
    return AssertionError(f"{what} not within {timeout:g}s; {seen}{more}")


def eventually(
    probe: Callable[[], T],
    *,
    until: Callable[[T], object] = bool,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
    what: str = "the condition",
    context: Callable[[], str] | None = None,
) -> T:
    """``probe()``'s first value that ``until`` accepts (truthy by default), polled every ``interval``
    seconds for up to ``timeout`` seconds; an ``AssertionError`` with the last value or failure if none,
    followed by ``context()`` (a log's tail, say) when given."""
    deadline = time.monotonic() + timeout
    value: object = None
    error: BaseException | None = None
    while True:
        try:
            got = probe()
            value, error = got, None
            if until(got):
                return got
        except retry_on as exc:
            error = exc
        if time.monotonic() >= deadline:
            raise _failure(what, timeout, value, error, context) from error
        time.sleep(interval)


async def eventually_async(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], object] = bool,
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    retry_on: tuple[type[BaseException], ...] = (AssertionError,),
    what: str = "the condition",
    context: Callable[[], str] | None = None,
) -> T:
    """``eventually`` for an async probe (an API call, a workflow query): it sleeps without blocking the
    event loop, so the servers and workers of the test keep running while it waits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value: object = None
    error: BaseException | None = None
    while True:
        try:
            got = await probe()
            value, error = got, None
            if until(got):
                return got
        except retry_on as exc:
            error = exc
        if loop.time() >= deadline:
            raise _failure(what, timeout, value, error, context) from error
        await asyncio.sleep(interval)

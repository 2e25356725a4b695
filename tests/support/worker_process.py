"""A Multibill worker in a process of its own (``python -m runtime.cli worker``), for tests that kill it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.settings import Settings
from tests.support.localstripe import API_KEY


def stripe_env(stripe_url: str) -> dict[str, str]:
    """The environment that sends a worker's Stripe calls to localstripe at ``stripe_url``."""
    return {"MULTIBILL_STRIPE_API_KEY": API_KEY, "MULTIBILL_STRIPE_API_BASE": stripe_url}


def start_worker(
    settings: Settings, address: str, queue: str, log: Path, **env_extra: str
) -> subprocess.Popen[bytes]:
    """A worker on ``queue`` of the Temporal server at ``address``, its output appended to ``log``."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "TEMPORAL_ADDRESS": address,
        "MULTIBILL_TASK_QUEUE": queue,
        "MULTIBILL_SMTP_PORT": str(settings.smtp_port),
        **env_extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


@contextmanager
def worker_process(
    settings: Settings, address: str, queue: str, log: Path, *, graceful: bool = False, **env_extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``start_worker``, stopped on the way out: a ``graceful`` one (the worker that takes over from a
    killed one) with SIGTERM and waited for; any other (the test kills it itself) killed if still running."""
    worker = start_worker(settings, address, queue, log, **env_extra)
    try:
        yield worker
    finally:
        if graceful:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        elif worker.poll() is None:
            worker.kill()

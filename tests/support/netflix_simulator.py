"""The Netflix partner billing simulator served over real HTTP on a free port, with a client for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from integrations.partners.netflix.client import NetflixClient
from integrations.partners.netflix.simulator import NetflixSimulator
from tests.support.live_api import serve

NETFLIX_OPERATOR, NETFLIX_SECRET = "op-netflix", "s3cret"


@dataclass
class NetflixClock:
    """The simulator's clock: fixed, moved by tests (no dependency on today's date)."""

    instant: datetime = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.instant

    def advance(self, **delta: float) -> None:
        self.instant += timedelta(**delta)


@dataclass
class NetflixHarness:
    simulator: NetflixSimulator
    url: str
    clock: NetflixClock
    client: NetflixClient


@pytest.fixture
def netflix() -> Iterator[NetflixHarness]:
    clock = NetflixClock()
    simulator = NetflixSimulator(operators={NETFLIX_OPERATOR: NETFLIX_SECRET, "op-other": "other"}, now=clock)
    with (
        serve(simulator.app()) as url,
        NetflixClient(url, NETFLIX_OPERATOR, NETFLIX_SECRET, timeout_seconds=2.0) as client,
    ):
        yield NetflixHarness(simulator, url, clock, client)

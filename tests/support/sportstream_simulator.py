"""The SportStream simulator (a partner that pushes its charges) served over real HTTP on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from integrations.partners.sportstream.simulator import SportStreamSimulator
from tests.support.live_api import serve

SPORTSTREAM_OPERATOR, SPORTSTREAM_SECRET = "op-sports", "sp0rts-secret"


@dataclass
class SportStreamHarness:
    simulator: SportStreamSimulator
    url: str


@pytest.fixture
def sportstream() -> Iterator[SportStreamHarness]:
    operators = {SPORTSTREAM_OPERATOR: SPORTSTREAM_SECRET, "op-other": "other"}
    simulator = SportStreamSimulator(operators=operators)
    with serve(simulator.app()) as url:
        yield SportStreamHarness(simulator, url)

"""The SMS gateway simulator for tests, served over real HTTP on a free port (``sms_gateway``), with the
client the engine uses pointed at it and its delivery reports sent to a URL the test gives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from integrations.notify.sms.client import SmsGateway
from integrations.notify.sms.simulator import SmsSimulator
from tests.support.live_api import serve

SMS_API_KEY = "sms-test-key"
SMS_CALLBACK_SECRET = "sms-test-callback-secret"


@dataclass
class SmsGatewayUnderTest:
    simulator: SmsSimulator
    url: str

    def client(self, callback_url: str) -> SmsGateway:
        return SmsGateway(
            base_url=self.url, api_key=SMS_API_KEY, sender="Multibill", callback_url=callback_url
        )


@pytest.fixture(scope="session")
def _sms_gateway() -> Iterator[SmsGatewayUnderTest]:
    simulator = SmsSimulator(api_key=SMS_API_KEY, callback_secret=SMS_CALLBACK_SECRET)
    with serve(simulator.app()) as url:
        yield SmsGatewayUnderTest(simulator, url)


@pytest.fixture
def sms_gateway(_sms_gateway: SmsGatewayUnderTest) -> Iterator[SmsGatewayUnderTest]:
    """The running simulator, well-behaved again after each test."""
    yield _sms_gateway
    _sms_gateway.simulator.reset()

"""The mobile-money gateway simulator for tests: served over real HTTP on a free port (``mobile_money``), a
handset the test plays the subscriber with (``Handset``), and a real HTTP receiver of its signed callbacks
(``momo_callbacks``) that checks each signature with ``verify_callback`` as the product will."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from integrations.payments.mobile_money import Outcome, parse_callback, verify_callback
from integrations.payments.mobile_money.client import SIGNATURE_HEADER
from integrations.payments.mobile_money.simulator import MobileMoneySimulator
from tests.support.live_api import serve
from tests.support.ports import free_port

CONSUMER_KEY = "momo-test-key"
CONSUMER_SECRET = "momo-test-secret"
CALLBACK_SECRET = "momo-test-callback-secret"
PROMPT_TIMEOUT_S = 0.5
CALLBACK_TIMEOUT_S = 60.0


@dataclass
class MobileMoneyGateway:
    simulator: MobileMoneySimulator
    url: str


class Handset:
    """The subscriber's phone, driven over the simulator's handset endpoints."""

    def __init__(self, url: str, msisdn: str) -> None:
        self.msisdn = msisdn
        self._http = httpx.Client(base_url=url, timeout=5.0)
        self._path = f"/sim/phones/{msisdn}"

    def register(
        self, *, pin: str = "1234", balance: int = 100_000, reachable: bool = True
    ) -> dict[str, Any]:
        answer = self._http.put(self._path, json={"pin": pin, "balance": balance, "reachable": reachable})
        answer.raise_for_status()
        return dict(answer.json())

    def state(self) -> dict[str, Any]:
        answer = self._http.get(self._path)
        answer.raise_for_status()
        return dict(answer.json())

    def approve(self, pin: str) -> httpx.Response:
        return self._http.post(f"{self._path}/approve", json={"pin": pin})

    def cancel(self) -> httpx.Response:
        return self._http.post(f"{self._path}/cancel")

    def close(self) -> None:
        self._http.close()


@dataclass(frozen=True)
class Callback:
    outcome: Outcome
    verified: bool
    raw: bytes


class CallbackReceiver:
    """A threaded HTTP server receiving the gateway's callbacks; answers 200 when the signature verifies,
    401 otherwise, and keeps everything it was sent."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/momo/callback"
        self.received: list[Callback] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def for_request(self, checkout_request_id: str) -> list[Callback]:
        with self._lock:
            return [c for c in self.received if c.outcome.checkout_request_id == checkout_request_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                verified = verify_callback(receiver.secret, self.headers.get(SIGNATURE_HEADER, ""), body)
                with receiver._lock:
                    receiver.received.append(Callback(parse_callback(body), verified, body))
                self.send_response(200 if verified else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture(scope="session")
def _momo_gateway() -> Iterator[MobileMoneyGateway]:
    simulator = MobileMoneySimulator(
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        callback_secret=CALLBACK_SECRET,
        prompt_timeout=PROMPT_TIMEOUT_S,
        # A receiver in this process answers in milliseconds, but a loaded CI machine once stalled the
        # whole process for over 5 s: a lost callback then failed a test asserting what it was answered.
        callback_timeout=CALLBACK_TIMEOUT_S,
    )
    with serve(simulator.app()) as url:
        yield MobileMoneyGateway(simulator, url)


@pytest.fixture
def mobile_money(_momo_gateway: MobileMoneyGateway) -> Iterator[MobileMoneyGateway]:
    """The running simulator, well-behaved again after each test."""
    yield _momo_gateway
    _momo_gateway.simulator.reset()
    _momo_gateway.simulator.prompt_timeout = PROMPT_TIMEOUT_S


@pytest.fixture(scope="session")
def momo_callbacks() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver(CALLBACK_SECRET)
    yield receiver
    receiver.close()


_NUMBERS = itertools.count(random.randrange(10**7))


def unique_msisdn() -> str:
    """A phone number no other test uses (phones keep their state for the session)."""
    return f"+2547{next(_NUMBERS) % 10**8:08d}"

"""The MVNO host-network simulator for tests: served by a real uvicorn on a free port (``mvno_platform``, once
per module), its controls reset around each test (``mvno``), a typed client on it (``mvno_client``), a real
HTTP receiver of its signed callbacks (``mvno_callbacks``), and SIM cards with valid ICCIDs (``new_sim``)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.provisioning.mvno.client import SIGNATURE_HEADER, MvnoClient
from integrations.provisioning.mvno.simulator import MvnoSimulator, luhn_check_digit
from tests.support.live_api import serve
from tests.support.ports import free_port

MVNO_API_KEY = "mvno-test-key"
MVNO_CALLBACK_SECRET = "mvno-test-callback-secret"
MVNO_TARIFFS = frozenset({"mvno-basic", "mvno-plus"})


@dataclass(frozen=True)
class Callback:
    """One callback as received: the raw body, its signature header, what the receiver answered."""

    body: bytes
    signature: str
    answered: int

    def order(self) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.body)
        return parsed


class CallbackReceiver:
    """A threaded HTTP server recording every POST; ``fail_next(n)`` answers 500 to the next ``n``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mvno/callbacks"
        self.received: list[Callback] = []
        self.failures_left = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    status = 500 if receiver.failures_left > 0 else 200
                    receiver.failures_left -= status == 500
                    receiver.received.append(Callback(body, self.headers.get(SIGNATURE_HEADER, ""), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def fail_next(self, count: int) -> None:
        self.failures_left = count

    def for_order(self, order_id: str) -> list[Callback]:
        with self._lock:
            return [c for c in self.received if json.loads(c.body)["order_id"] == order_id]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def mvno_platform() -> Iterator[tuple[MvnoSimulator, str]]:
    simulator = MvnoSimulator(
        api_key=MVNO_API_KEY, callback_secret=MVNO_CALLBACK_SECRET, tariff_profiles=set(MVNO_TARIFFS)
    )
    with serve(simulator.app()) as url:
        yield simulator, url


@pytest.fixture
def mvno(mvno_platform: tuple[MvnoSimulator, str]) -> Iterator[MvnoSimulator]:
    simulator = mvno_platform[0]
    simulator.reset()
    yield simulator
    simulator.reset()


@pytest.fixture
def mvno_client(mvno_platform: tuple[MvnoSimulator, str]) -> Iterator[MvnoClient]:
    with MvnoClient(mvno_platform[1], MVNO_API_KEY, timeout_seconds=2.0) as client:
        yield client


@pytest.fixture
def mvno_callbacks() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


_SERIALS = itertools.count(1)


def make_iccid(serial: int) -> str:
    """A 19-digit ICCID (89 + country 33 + issuer 01 + 12-digit serial + Luhn digit)."""
    body = f"893301{serial:012d}"
    return body + luhn_check_digit(body)


@pytest.fixture
def new_sim(mvno: MvnoSimulator) -> Callable[[], tuple[str, str]]:
    """Put a fresh SIM in the host's stock and return its (ICCID, IMSI)."""

    def make() -> tuple[str, str]:
        serial = next(_SERIALS) + 7_000_000
        iccid, imsi = make_iccid(serial), f"20801{serial:010d}"
        mvno.add_sim(iccid, imsi)
        return iccid, imsi

    return make

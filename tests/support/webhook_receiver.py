"""A real HTTP receiver of webhook deliveries for tests: a threaded server on a free loopback port that
verifies each signature with ``domain.webhooks.verify`` (as an integrator would) and can be told to fail
(500) the next N deliveries, to answer late, or to hang past the sender's timeout."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from domain import webhooks
from tests.support.ports import free_port


@dataclass(frozen=True)
class Received:
    """One delivery as the receiver saw it: the event, whether its signature verified, what it answered."""

    event: dict[str, Any]
    verified: bool
    answered: int


class WebhookReceiver:
    """The receiver's state; ``url`` is where to point an endpoint, ``secret`` must be set to verify."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.secret = ""
        self.received: list[Received] = []
        self.failures_left = 0
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def fail_next(self, count: int) -> None:
        """Answer 500 to the next ``count`` deliveries."""
        self.failures_left = count

    def answer_after(self, seconds: float) -> None:
        """Wait ``seconds`` before answering (longer than the sender's timeout: a time-out)."""
        self.delay_s = seconds

    def accepted(self) -> list[Received]:
        """The deliveries answered 2xx, in the order they arrived."""
        return [r for r in self.received if r.answered == 200]

    def _answer(self, body: bytes, signature: str) -> int:
        verified = webhooks.verify(self.secret, signature, body)
        with self._lock:
            status = 400 if not verified else (500 if self.failures_left > 0 else 200)
            if status == 500:
                self.failures_left -= 1
            self.received.append(Received(json.loads(body), verified, status))
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                status = receiver._answer(body, self.headers.get(webhooks.SIGNATURE_HEADER, ""))
                reply = b'{"ok":true}' if status == 200 else b'{"error":"try later"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()

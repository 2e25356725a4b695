"""localstripe (a stateful fake Stripe server from PyPI) on a free port, and test helpers around it.

Cards as Stripe.js would tokenise them: 4242… succeeds; 4000000000000002 is declined when attached
(registration); 4000000000000341 attaches but every charge is declined.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.support.eventually import eventually
from tests.support.ports import free_port

API_KEY = "sk_test_multibill"
WEBHOOK_SECRET = "whsec_multibill_test"
GOOD_CARD = "4242424242424242"
DECLINED_ON_ATTACH = "4000000000000002"
DECLINED_ON_CHARGE = "4000000000000341"


@dataclass(frozen=True)
class LocalStripe:
    url: str

    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(API_KEY, base_addresses={"api": self.url}, max_network_retries=0)

    def card_token(self, number: str = GOOD_CARD) -> str:
        """What Stripe.js hands the browser: a PaymentMethod id (pm_…), never the number."""
        method = self.client().v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
            }
        )
        return str(method.id)

    def intents_with_key(self, key: str) -> list[dict[str, Any]]:
        page = self.client().v1.payment_intents.list(params={"limit": 100})
        intents = [i.to_dict() for i in page.auto_paging_iter()]
        return [i for i in intents if (i.get("metadata") or {}).get("multibill_idempotency_key") == key]


def _wait_for_port(
    port: int, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None, timeout: float = 90.0
) -> None:
    """A fresh virtualenv compiles localstripe's imports on its first start: that can take a while."""

    def listening() -> bool:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"localstripe exited with {proc.returncode}:\n{tail}")
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    eventually(listening, timeout=timeout, interval=0.1, what=f"localstripe listening on {port}")


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    port = free_port()
    log = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    # localstripe's own state file is fixed and shared by every run on the machine: run it in memory.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.localstripe_server", "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    try:
        _wait_for_port(port, proc, log)
        yield LocalStripe(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def signed(event: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header, as Stripe signs them."""
    payload = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={stamp},v1={mac}"


class DroppingProxy:
    """Forwards each request to ``upstream`` and then hangs up without answering: the charge happens
    at the gateway, but the caller never learns its outcome (a timeout after the fact). The first
    ``answered`` requests get their answers (e.g. 1: the intent is created, its confirmation is lost)."""

    def __init__(self, upstream_port: int, answered: int = 0) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.answered = answered
        self.forwarded = 0
        self._lock = threading.Lock()
        self._seen = 0
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = _read_request(conn)
            with self._lock:
                self._seen += 1
                answer = self._seen <= self.answered
            with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
                upstream.sendall(data)
                upstream.settimeout(10)
                if answer:
                    conn.sendall(_read_answer(upstream))
                    return
                with contextlib.suppress(TimeoutError):
                    upstream.recv(65536)  # the gateway has processed it
            self.forwarded += 1
            time.sleep(0.5)  # ...and the answer is lost

    def close(self) -> None:
        self._stop = True
        self._server.close()


def _read_answer(upstream: socket.socket) -> bytes:
    """The whole answer (the request asked the server to close after it)."""
    answer = b""
    with contextlib.suppress(TimeoutError):
        while chunk := upstream.recv(65536):
            answer += chunk
    return answer


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    # One request per connection upstream: ask the server to close after answering.
    head = b"\r\n".join(h for h in head.split(b"\r\n") if not h.lower().startswith(b"connection:"))
    return head + b"\r\nConnection: close\r\n\r\n" + body

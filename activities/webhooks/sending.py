"""Sending one webhook delivery over HTTP: the signed POST and what came back (no database here)."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from activities.webhooks.deliveries import Outcome
from domain import webhooks

TIMEOUT_S = 10.0
USER_AGENT = "Multibill-Webhooks/1"

_CLIENT = httpx.Client(
    follow_redirects=False,
    limits=httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=30),
)
"""One client for every delivery (thread-safe): ``httpx.post`` builds a client, and its TLS context, per
call, which made a loaded worker send ~10 deliveries a second where this one keeps connections and sends
~30 times as many (measured with bench/webhooks.py's receiver)."""


def body_of(payload: dict[str, object]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def private_target(url: str) -> str | None:
    """The first loopback or private address ``url``'s host resolves to (None: all public, or no answer)."""
    host = urlsplit(url).hostname or ""
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # the POST reports the failure
    for *_, address in found:
        ip = str(address[0]).split("%", 1)[0]
        if not ipaddress.ip_address(ip).is_global:
            return ip
    return None


def post(
    url: str,
    secret: str,
    event_id: str,
    body: bytes,
    timeout_s: float = TIMEOUT_S,
    *,
    production: bool = False,
) -> Outcome:
    """POST ``body`` to ``url`` signed with ``secret``; redirects are not followed. In production a host
    that resolves to a private address is refused (a name may point inside after the URL was checked)."""
    if production and (inside := private_target(url)) is not None:
        return Outcome(
            None, 0, None, f"refused: {urlsplit(url).hostname} resolves to the private address {inside}"
        )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Multibill-Event-Id": event_id,
        webhooks.SIGNATURE_HEADER: webhooks.sign(secret, body, datetime.now(UTC)),
    }
    started = time.monotonic()
    try:
        response = _CLIENT.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        latency = int((time.monotonic() - started) * 1000)
        return Outcome(None, latency, None, webhooks.excerpt(f"{type(exc).__name__}: {exc}"))
    latency = int((time.monotonic() - started) * 1000)
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(response.status_code, latency, webhooks.excerpt(response.text), error)

"""Webhooks: signing a delivery, verifying a signature (receivers copy ``verify``), checking an
endpoint's URL, and the delivery schedule (backoff and the three-day window). Pure: no I/O.

A delivery is a POST of the event's JSON with the header
``Multibill-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from domain.events import EVENT_TYPES
from domain.sepa_vault import IbanVault

SIGNATURE_HEADER = "Multibill-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_TOLERANCE_S = 300
DELIVERY_WINDOW = timedelta(days=3)
"""How long one delivery is retried, and how long an endpoint may fail before it is disabled."""
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
EXCERPT_CHARS = 500
_SECRET_PURPOSE = b"multibill webhook endpoint secret v1"


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` and 32 random bytes, hex)."""
    return SECRET_PREFIX + secrets.token_hex(32)


def secret_vault(data_key: str) -> IbanVault:
    """The vault endpoint secrets are sealed in (as SEPA IBANs are, under a key of its own purpose)."""
    return IbanVault(data_key, purpose=_SECRET_PURPOSE)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, now: datetime) -> str:
    """The ``Multibill-Signature`` header value of ``body`` sent at ``now``."""
    timestamp = int(now.timestamp())
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, tolerance_s: int = DEFAULT_TOLERANCE_S, now: float = 0
) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` within ``tolerance_s`` seconds of ``now``
    (unix seconds; 0 means the current time). Constant-time; any ``v1`` may match (secret rotation)."""
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key.strip() == "t"]
    candidates = [value.strip() for key, value in parts if key.strip() == "v1"]
    if len(timestamps) != 1 or not candidates or not timestamps[0].strip().isdigit():
        return False
    timestamp = int(timestamps[0])
    current = now or time.time()
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


class EndpointRejected(ValueError):
    """An endpoint's URL or event types that are refused; ``code`` says which rule."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _private_host(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_url(url: str, *, production: bool) -> str:
    """``url`` if deliveries may go there: http(s), a host, no credentials, and in production no
    loopback, private, link-local or otherwise non-public address (IP literals and ``localhost``)."""
    if len(url) > 2000:
        raise EndpointRejected("webhook_url_invalid", "the URL is longer than 2000 characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as exc:
        raise EndpointRejected("webhook_url_invalid", f"the URL does not parse: {exc}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise EndpointRejected("webhook_url_invalid", "the URL must be http:// or https:// with a host")
    if parts.username is not None or parts.password is not None:
        raise EndpointRejected("webhook_url_credentials", "the URL must not carry credentials")
    if production and _private_host(host):
        raise EndpointRejected(
            "webhook_url_private", f"{host} is a loopback or private address; deliveries go to public hosts"
        )
    return url


def check_event_types(types: Iterable[str]) -> list[str]:
    """The event types, each known (see domain/events.py), sorted and without repeats; empty means all."""
    unknown = sorted(set(types) - EVENT_TYPES)
    if unknown:
        raise EndpointRejected("webhook_event_type_unknown", f"unknown event types: {', '.join(unknown)}")
    return sorted(set(types))


def subscribed(event_types: list[str], event_type: str) -> bool:
    """Whether an endpoint listening to ``event_types`` (empty: every type) receives ``event_type``."""
    return not event_types or event_type in event_types


def retry_delay(failed_attempts: int) -> timedelta:
    """The wait after the ``failed_attempts``-th failure: 30 s doubling, at most 6 h."""
    return min(FIRST_RETRY * 2 ** min(max(failed_attempts - 1, 0), 20), MAX_RETRY)


def excerpt(text: str) -> str:
    """At most ``EXCERPT_CHARS`` characters of a response body."""
    return text[:EXCERPT_CHARS]

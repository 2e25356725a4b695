"""Subscriber credentials derived from an order's idempotency key and a secret (retries are identical).

A password is HMAC-SHA256(secret, "password:" + idempotency key), written with an alphabet without
look-alike characters. Multibill never stores it: the peer keeps what it needs (FreeRADIUS a
Cleartext-Password in ``radcheck``, Kamailio only HA1 digests), and the portal can derive it again
from the activation order's key (``provisioning_orders.idempotency_key``) to show the subscriber.
"""

from __future__ import annotations

import hashlib
import hmac

ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def derive_password(secret: str, idempotency_key: str, length: int = 16) -> str:
    if not secret:
        raise ValueError("a password secret is required")
    digest = hmac.new(secret.encode(), b"password:" + idempotency_key.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def sip_ha1(username: str, domain: str, password: str) -> tuple[str, str]:
    """Kamailio's ``ha1`` = md5(user:domain:password) and ``ha1b`` = md5(user@domain:domain:password)."""
    ha1 = hashlib.md5(f"{username}:{domain}:{password}".encode(), usedforsecurity=False).hexdigest()
    ha1b = hashlib.md5(f"{username}@{domain}:{domain}:{password}".encode(), usedforsecurity=False).hexdigest()
    return ha1, ha1b

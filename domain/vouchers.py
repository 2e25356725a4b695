"""Voucher codes and states (pure).

A code is 16 characters of Crockford base32 (80 random bits), shown as ``XXXX-XXXX-XXXX-XXXX``. Only
its SHA-256 hash and a 4-character display prefix are stored, so the codes exist once, in the answer
to the request that created the lot. Redeeming normalises what the subscriber typed (case, dashes,
spaces, and the look-alikes O→0, I/L→1) before hashing.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date

from domain.errors import Conflict, RuleViolation

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
PREFIX_LENGTH = 4
STATES = ("created", "activated", "redeemed", "cancelled", "expired")
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def formatted(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(typed: str) -> str:
    """What the subscriber typed, as the canonical code (or a RuleViolation naming the field)."""
    code = "".join(ch for ch in typed.upper() if ch not in "- \t").translate(_LOOKALIKES)
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise RuleViolation("voucher_code_invalid", "a voucher code is 16 letters and digits", field="code")
    return code


def code_hash(code: str) -> str:
    return hashlib.sha256(f"multibill-voucher:{code}".encode()).hexdigest()


def display_prefix(code: str) -> str:
    return code[:PREFIX_LENGTH]


def redeemable(status: str, expires_on: date, today: date) -> None:
    """Raise the stable error that explains why a voucher cannot be redeemed today (None: it can)."""
    if status == "redeemed":
        raise Conflict("voucher_already_redeemed", "this voucher has already been redeemed")
    if status == "cancelled":
        raise Conflict("voucher_cancelled", "this voucher was cancelled")
    if status == "expired" or today > expires_on:
        raise RuleViolation("voucher_expired", f"this voucher expired on {expires_on}", field="code")
    if status != "activated":
        raise Conflict("voucher_not_active", "this voucher has not been activated for sale yet")

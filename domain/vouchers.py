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

from domain.currency import minor_units
from domain.errors import Conflict, RuleViolation
from domain.money import Money

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


# The maximum value of one voucher when the operator has set none for the currency: 100 major units.
DEFAULT_MAX_MAJOR_UNITS = 100


def max_value_minor(limits: dict[str, int] | None, currency: str) -> int:
    """The operator's maximum value of one voucher in ``currency`` (minor units), or the default."""
    if limits and currency in limits:
        return int(limits[currency])
    return DEFAULT_MAX_MAJOR_UNITS * 10 ** minor_units(currency)


def check_value(value_minor: int, currency: str, limits: dict[str, int] | None) -> None:
    """Refuse a voucher worth more than the operator's maximum: minting money is bounded."""
    ceiling = max_value_minor(limits, currency)
    if value_minor > ceiling:
        raise RuleViolation(
            "voucher_value_too_high",
            f"a voucher is worth at most {Money(ceiling, currency).format()} "
            "(the operator's voucher_max_value_minor)",
            field="value_minor",
        )

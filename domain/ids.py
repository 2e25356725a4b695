"""Prefixed, time-sortable identifiers: ``acc_01JD…`` (prefix + 26-char Crockford base32 ULID)."""

from __future__ import annotations

import re
import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = {
    "organisation": "org",
    "account": "acc",
    "api_key": "key",
    "subscription": "sub",
    "invoice": "inv",
    "payment": "pay",
}
_ID_RE = re.compile(r"^(?P<prefix>[a-z]{2,5})_(?P<body>[0-9A-HJKMNP-TV-Z]{26})$")


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


_last_lock = threading.Lock()
_last = [0, 0]  # the millisecond and the random part of this process's last id


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id: 48 bits of milliseconds then 80 random bits, so ids sort by creation time.

    Within one process, a second id in the same millisecond takes the last one's random part plus one, so
    two events of one object recorded one after the other keep their order when sorted by id (webhooks
    deliver them in that order). A clock that steps back is followed (ids keep telling their time).
    ``now_ms`` makes a bound for that moment (not remembered)."""
    if now_ms is not None:
        return f"{prefix}_{_encode(now_ms, 10)}{_encode(secrets.randbits(80), 16)}"
    ms = int(time.time() * 1000)
    with _last_lock:
        same_ms = ms == _last[0] and _last[1] + 1 < 1 << 80
        # a fresh random part keeps its top bit clear: room to count up within the millisecond
        random_part = _last[1] + 1 if same_ms else secrets.randbits(79)
        _last[0], _last[1] = ms, random_part
    return f"{prefix}_{_encode(ms, 10)}{_encode(random_part, 16)}"


_TRIPLES = [a + b + c for a in _ALPHABET for b in _ALPHABET for c in _ALPHABET]  # 0 … 32**3 - 1, in order


def new_ids(prefix: str, count: int, *, now_ms: int | None = None) -> list[str]:
    """``count`` new ids of one moment, in increasing order (a batch keeps its order when sorted by id).

    Each is the moment's 48 bits of milliseconds, 50 random bits shared by the batch, then its 30-bit
    position: as unique and sortable as ``new_id``, without encoding every id from scratch.
    """
    if not 0 <= count <= 32**6:
        raise ValueError(f"a batch holds up to {32**6} ids, not {count}")
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    head = f"{prefix}_{_encode(ms, 10)}{_encode(secrets.randbits(50), 10)}"
    return [head + _TRIPLES[i >> 15] + _TRIPLES[i & 0x7FFF] for i in range(count)]


def is_valid_id(value: str, prefix: str) -> bool:
    match = _ID_RE.match(value)
    return bool(match) and match is not None and match.group("prefix") == prefix

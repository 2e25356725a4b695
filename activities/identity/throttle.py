"""Login throttling, counted in PostgreSQL (several API processes run): per e-mail (known or not, so the
answer never tells whether an address is registered) and per client address.

- Per e-mail: ``ACCOUNT_FAILURES`` failures in a row lock it for ``FIRST_LOCK``, doubling with each
  further lockout (at most ``MAX_LOCK``); a successful login starts again from nothing.
- Per address: ``ADDRESS_FAILURES`` failures within ``ADDRESS_WINDOW`` block the address until the
  window ends (whatever the e-mail tried).
Rows are locked (``SELECT … FOR UPDATE``) while counting, so concurrent attempts are serialised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models.identity import LoginThrottle

ACCOUNT_FAILURES = 5
FIRST_LOCK = timedelta(minutes=15)
MAX_LOCK = timedelta(hours=24)
ADDRESS_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Blocked:
    code: str  # login_locked (the e-mail) or login_rate_limited (the client address)
    retry_after: int  # seconds

    @property
    def detail(self) -> str:
        if self.code == "login_locked":
            return f"Too many failed attempts: try again in {self.retry_after} seconds or use an e-mail link"
        return f"Too many failed attempts from your address: try again in {self.retry_after} seconds"


def email_key(organisation_id: str, email: str) -> str:
    return f"email:{organisation_id}:{email.strip().lower()}"


def address_key(ip_address: str | None) -> str | None:
    return f"ip:{ip_address}" if ip_address else None


def _row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The key's row, locked; created when missing. The daily prune (activities/maintenance/retention.py)
    may delete a quiet row between the insert and the lock: the second pass inserts it afresh."""
    for _ in range(2):
        session.execute(
            insert(LoginThrottle)
            .values(key=key, failures=0, lockouts=0, window_started_at=now, updated_at=now)
            .on_conflict_do_nothing()
        )
        row = session.execute(
            select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
        ).scalar_one_or_none()
        if row is not None:
            return row
    raise RuntimeError(f"login throttle {key!r} vanished twice while being locked")


def _seconds(until: datetime, now: datetime) -> int:
    return max(1, ceil((until - now).total_seconds()))


def blocked(session: Session, email: str, address: str | None, now: datetime) -> Blocked | None:
    """Whether an attempt may not even be checked now (the e-mail is locked or the address is blocked)."""
    row = _row(session, email, now)
    if row.locked_until is not None and row.locked_until > now:
        return Blocked("login_locked", _seconds(row.locked_until, now))
    if address is not None:
        ip = _row(session, address, now)
        if ip.locked_until is not None and ip.locked_until > now:
            return Blocked("login_rate_limited", _seconds(ip.locked_until, now))
    return None


def lock_length(lockouts: int) -> timedelta:
    """How long the ``lockouts``-th lockout (1, 2, …) lasts: 15 min, 30 min, 1 h … at most a day."""
    return min(FIRST_LOCK * (2 ** max(0, lockouts - 1)), MAX_LOCK)


def record_failure(session: Session, email: str, address: str | None, now: datetime) -> datetime | None:
    """Count a failed attempt; the e-mail's new ``locked_until`` when this failure locked it."""
    row = _row(session, email, now)
    row.failures += 1
    row.updated_at = now
    locked: datetime | None = None
    if row.failures >= ACCOUNT_FAILURES:
        row.lockouts += 1
        row.failures = 0
        row.locked_until = locked = now + lock_length(row.lockouts)
    if address is not None:
        ip = _row(session, address, now)
        if now - ip.window_started_at >= ADDRESS_WINDOW:
            ip.window_started_at, ip.failures = now, 0
        ip.failures += 1
        ip.updated_at = now
        if ip.failures >= ADDRESS_FAILURES:
            ip.locked_until = ip.window_started_at + ADDRESS_WINDOW
    return locked


def record_success(session: Session, email: str, now: datetime) -> None:
    row = _row(session, email, now)
    row.failures, row.lockouts, row.locked_until, row.updated_at = 0, 0, None, now

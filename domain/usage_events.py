"""A usage event as sent (API, CSV row, RADIUS), checked one by one: each bad one gets its own reason.

Quantities are base units: seconds for ``voice``, bytes for ``data``, units (views) for ``video``.
Refused: a missing or malformed field (``malformed``), a negative quantity (``quantity_negative``),
an absurd one (``quantity_absurd``: a call over 24 h, a data record over 10 TiB, over 1,000 views),
a timestamp without a time zone (``timestamp_without_timezone``), more than 5 minutes ahead of the
clock (``timestamp_in_future``) or older than 400 days (``timestamp_too_old``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["EventRejected", "NewEvent", "check_event"]

EVENT_TYPES = ("voice", "data", "video")
MAX_QUANTITY = {"voice": 86_400, "data": 10 * 1024**4, "video": 1_000}
FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=400)
_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_METRIC = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_DESTINATION = re.compile(r"^\+?[0-9 ()-]{1,32}$")


@dataclass(frozen=True, slots=True)
class NewEvent:
    client_event_id: str
    subscriber: str
    event_type: str
    metric: str
    quantity: int
    started_at: datetime
    destination: str | None = None
    duration: int | None = None


class EventRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _text(raw: dict[str, Any], name: str, pattern: re.Pattern[str], required: bool = True) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise EventRejected("malformed", f"{name} is missing")
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise EventRejected("malformed", f"{name} {str(value)[:40]!r} is not valid")
    return value


def _integer(raw: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = raw.get(name)
    if value is None or value == "":
        if required:
            raise EventRejected("malformed", f"{name} is missing")
        return None
    if isinstance(value, bool | float):
        raise EventRejected("malformed", f"{name} must be a whole number, not {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise EventRejected("malformed", f"{name} {str(value)[:40]!r} is not a whole number") from None
    if number < 0:
        raise EventRejected("quantity_negative", f"{name} must not be negative, got {number}")
    return number


def _timestamp(raw: dict[str, Any], now: datetime) -> datetime:
    value = raw.get("started_at")
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str) and value:
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            raise EventRejected("malformed", f"started_at {value[:40]!r} is not an ISO 8601 time") from None
    else:
        raise EventRejected("malformed", "started_at is missing")
    if at.tzinfo is None:
        raise EventRejected("timestamp_without_timezone", "started_at needs a UTC offset, e.g. Z or +01:00")
    if at > now + FUTURE_SKEW:
        raise EventRejected("timestamp_in_future", f"started_at {at.isoformat()} is in the future")
    if at < now - MAX_AGE:
        raise EventRejected("timestamp_too_old", f"started_at {at.isoformat()} is older than 400 days")
    return at.astimezone(UTC)


def check_event(raw: Any, now: datetime) -> NewEvent:
    """The event, or :class:`EventRejected` with a stable code and a message naming the problem."""
    if not isinstance(raw, dict):
        raise EventRejected("malformed", "an event must be an object")
    client_id = _text(raw, "client_event_id", _ID)
    subscriber = _text(raw, "subscriber", _ID)
    event_type = raw.get("event_type")
    if event_type not in EVENT_TYPES:
        raise EventRejected("malformed", f"event_type must be one of {', '.join(EVENT_TYPES)}")
    metric = _text(raw, "metric", _METRIC, required=False) or event_type
    quantity = _integer(raw, "quantity")
    assert quantity is not None and client_id is not None and subscriber is not None
    if quantity > MAX_QUANTITY[event_type]:
        raise EventRejected(
            "quantity_absurd", f"a {event_type} event of {quantity} is beyond {MAX_QUANTITY[event_type]}"
        )
    duration = _integer(raw, "duration", required=False)
    if duration is not None and duration > 31 * 86_400:
        raise EventRejected("quantity_absurd", f"a session of {duration} s is longer than a month")
    destination = _text(raw, "destination", _DESTINATION, required=False)
    return NewEvent(
        client_id, subscriber, event_type, metric, quantity, _timestamp(raw, now), destination, duration
    )

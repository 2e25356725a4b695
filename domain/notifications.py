"""Notifications on business-event triggers: the pure rules (no I/O).

Which trigger an event matches (an exact type, or a family such as ``ticket.*``), which messages are
legally required (never suppressed by a marketing opt-out, may ignore quiet hours), when a message falls
in quiet hours in the subscriber's own time zone and when it may go instead (deferred, never dropped),
how many segments an SMS text takes (GSM-7 or UCS-2), the key that makes a message unique, and the
retry back-off of a failed delivery.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHANNELS: tuple[str, ...] = ("email", "sms", "push", "webhook")
"""Channels the engine sends on. ``push`` records the message for the subscriber's app to fetch
(``GET /v1/notifications?channel=push``): no push service runs here. ``webhook`` hands the rendered
message to the operator's integrators: a ``notification.message`` business event, delivered by the
webhook relay (activities/webhooks) to the endpoints subscribed to it (an integrator's own messaging app,
a WhatsApp bridge…)."""

MESSAGE_EVENT = "notification.message"
"""The business event a ``webhook`` message becomes; never itself a trigger (no message about messages)."""

STATUSES: tuple[str, ...] = (
    "queued",
    "sending",
    "sent",
    "sent_unknown",
    "delivered",
    "failed",
    "suppressed",
)

LEGALLY_REQUIRED: frozenset[str] = frozenset(
    {"invoice.issued", "dunning.step", "account.verification", "credit_note.issued"}
)
"""Messages a subscriber cannot opt out of as marketing (invoices, dunning notices, verification)."""

DIRECT_TYPES: frozenset[str] = frozenset({"account.verification", "subscription.welcome"})
"""Notices sent at once by their process (not business events): their templates are editable too."""

STAFF_ONLY: frozenset[str] = frozenset({"ticket.sla_warning", "ticket.breached", "ticket.escalated"})
"""A ticket's SLA clock and escalations: staff's business (the supervisor is told, see activities/
notifications/staff.py), never the subscriber's, whatever trigger matches them."""


def for_subscriber(event_type: str, data: dict[str, object]) -> bool:
    """Whether the subscriber may be notified of the event at all: never of a ticket's internal life
    (its SLA clock, escalations, assignments, internal comments)."""
    if event_type in STAFF_ONLY:
        return False
    if event_type == "ticket.updated":
        change = data.get("change")
        return change != "assignment" and not (change == "comment" and not data.get("public"))
    return True


MAX_ATTEMPTS = 8
"""A failing delivery is tried this many times (about 21 hours of back-off) before it is failed."""


class TemplateRejected(ValueError):
    """A template that does not render: ``line`` (1-based, when known) and ``reason``."""

    def __init__(self, field: str, line: int | None, reason: str) -> None:
        where = f" at line {line}" if line is not None else ""
        super().__init__(f"{field}{where}: {reason}")
        self.field = field
        self.line = line
        self.reason = reason


def trigger_matches(pattern: str, event_type: str) -> bool:
    """``pattern`` names the event type exactly, or a family (``ticket.*``), or every type (``*``)."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def best_trigger(patterns: list[str], event_type: str) -> str | None:
    """The most specific matching pattern: the exact type, then the longest family, then ``*``."""
    matching = [p for p in patterns if trigger_matches(p, event_type)]
    if not matching:
        return None
    return max(matching, key=lambda p: (p == event_type, len(p)))


def check_pattern(pattern: str) -> str:
    """A trigger's event pattern: ``type.name``, ``family.*`` or ``*`` (lower case, dots, underscores)."""
    body = pattern[:-2] if pattern.endswith(".*") else pattern
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789._")
    if pattern != "*" and (not body or not set(body) <= allowed or body.startswith(".") or len(pattern) > 64):
        raise ValueError(f"{pattern!r} is not an event type, a family such as 'ticket.*', or '*'")
    return pattern


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a local time of day falls in quiet hours ``[start, end)`` (which may span midnight)."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def defer_until(at: datetime, timezone: str, start: time | None, end: time | None) -> datetime | None:
    """When a message due at ``at`` (UTC) may go, if ``at`` falls in quiet hours in ``timezone`` (the end
    of the quiet hours, local, as UTC); None when it may go now. Daylight-saving safe: the end is a local
    wall-clock time on the right local date."""
    if start is None or end is None:
        return None
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return None
    day = local.date()
    if local.time() >= end:  # in the evening part of quiet hours that span midnight
        day = day + timedelta(days=1)
    resume = datetime.combine(day, end, tzinfo=zone)
    return resume.astimezone(UTC)


GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
"""Characters of the GSM-7 extension table: each takes two septets (an escape and itself)."""


def sms_encoding(text: str) -> str:
    """``gsm7`` when every character is in the GSM-7 alphabet (basic or extension), else ``ucs2``."""
    ok = set(GSM7_BASIC) | set(GSM7_EXTENSION)
    return "gsm7" if all(c in ok for c in text) else "ucs2"


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes: one of 160 GSM-7 septets (153 when joined, the rest is the
    concatenation header) or 70 UCS-2 characters (67 when joined). An extension character takes two
    septets and is never split across segments; a UCS-2 character outside the BMP takes two units."""
    if not text:
        return 1
    if sms_encoding(text) == "gsm7":
        units = [2 if c in GSM7_EXTENSION else 1 for c in text]
        single, joined = 160, 153
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, joined = 70, 67
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > joined:
            segments, used = segments + 1, 0
        used += size
    return segments


def message_key(event_id: str, trigger_id: str, channel: str, recipient: str) -> str:
    """The unique key of a message: one per (event, trigger, channel, recipient), whatever retries."""
    raw = f"{event_id}|{trigger_id}|{channel}|{recipient.strip().lower()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed ones: 30 s doubling, at most 6 hours."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=6))


def suppression(
    channel: str,
    *,
    event_type: str,
    marketing: bool,
    chosen_channels: list[str] | None,
    marketing_opt_out: bool,
    recipient: str | None,
) -> str | None:
    """Why a message must not go (None: it may): the subscriber opted out of the channel, out of
    marketing (never of a legally required message), or has no address on that channel."""
    if chosen_channels is not None and channel not in chosen_channels:
        return "channel_opted_out"
    if marketing and marketing_opt_out and event_type not in LEGALLY_REQUIRED:
        return "marketing_opt_out"
    if not recipient:
        return "no_recipient"
    return None

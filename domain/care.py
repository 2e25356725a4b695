"""Customer care's rules: ticket states and their moves, priorities, category actions, SLA milestones and
escalation policies, attachment checks. Pure (safe inside workflows)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Where a ticket may go from each state ("reopen" is resolved → open; closed is final).
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.WAITING_ON_CUSTOMER, TicketStatus.RESOLVED}),
    TicketStatus.OPEN: frozenset({TicketStatus.WAITING_ON_CUSTOMER, TicketStatus.RESOLVED}),
    TicketStatus.WAITING_ON_CUSTOMER: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.OPEN}),
    TicketStatus.CLOSED: frozenset(),  # final: its TicketEscalation has ended
}


class TransitionRefused(ValueError):
    """A move the state machine does not allow (409 ``ticket_transition_refused``)."""


def check_transition(current: str, target: str) -> TicketStatus:
    """``target`` as a status if a ticket in ``current`` may move there, else TransitionRefused."""
    try:
        to = TicketStatus(target)
    except ValueError:
        raise TransitionRefused(f"{target!r} is not a ticket status") from None
    if to not in TRANSITIONS[TicketStatus(current)]:
        raise TransitionRefused(f"A ticket that is {current} cannot become {target}")
    return to


def is_reopen(current: str, target: str) -> bool:
    return current in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and target == TicketStatus.OPEN


PRIORITIES = ("low", "normal", "high", "urgent")


def raised(priority: str, to: str | None) -> str:
    """The higher of ``priority`` and ``to`` (an escalation never lowers a ticket's priority)."""
    if to is None:
        return priority
    return max(priority, to, key=PRIORITIES.index)


class CategoryAction(StrEnum):
    """What a category does beyond the ticket itself."""

    NONE = "none"
    STOLEN_DEVICE = "stolen_device"  # block the device at once, offer a swap
    BILLING_DISPUTE = "billing_dispute"  # hold the invoice; credit note approved by a supervisor, or rejected
    CANCEL_REQUEST = "cancel_request"  # start the termination with the plan's terms


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class EscalationLevel(BaseModel):
    """One level of a category's escalation policy: reached at ``at_percent`` of the resolution target,
    it raises the priority, moves the ticket to its queue's next queue, and/or names a supervisor to tell."""

    at_percent: int = Field(ge=1, le=1000)
    priority: str | None = None
    next_queue: bool = False
    notify_supervisor: bool = False


class EscalationPolicy(BaseModel):
    warn_percent: int = Field(default=80, ge=1, le=99)
    levels: list[EscalationLevel] = Field(default_factory=list)


def check_policy(policy: EscalationPolicy) -> EscalationPolicy:
    """Levels in increasing order of ``at_percent``, with known priorities."""
    percents = [level.at_percent for level in policy.levels]
    if percents != sorted(set(percents)):
        raise ValueError("escalation levels must have increasing, distinct at_percent")
    for level in policy.levels:
        if level.priority is not None and level.priority not in PRIORITIES:
            raise ValueError(f"{level.priority!r} is not a priority ({', '.join(PRIORITIES)})")
    return policy


class Milestone(BaseModel):
    """A point of a running SLA clock: ``kind`` warning, breach or escalation (with its ``level``, 1-based),
    at ``percent`` of the ``target``'s budget."""

    target: Target
    kind: str
    percent: int
    level: int = 0

    @property
    def key(self) -> str:
        return f"{self.target}:{self.kind}:{self.level}"


def milestones(policy: EscalationPolicy, *, first_response: bool) -> list[Milestone]:
    """Every milestone of a ticket's clocks: a warning and a breach per target (the first-response one only
    while no one has answered), then the escalation levels on the resolution target."""
    targets = [Target.FIRST_RESPONSE, Target.RESOLUTION] if first_response else [Target.RESOLUTION]
    found: list[Milestone] = []
    for target in targets:
        found.append(Milestone(target=target, kind="warning", percent=policy.warn_percent))
        found.append(Milestone(target=target, kind="breach", percent=100))
    for index, level in enumerate(policy.levels, start=1):
        found.append(
            Milestone(target=Target.RESOLUTION, kind="escalation", percent=level.at_percent, level=index)
        )
    return found


def budget_at(budget_seconds: int, percent: int) -> int:
    """Seconds of business time at ``percent`` of a budget (integer arithmetic, rounded down)."""
    return budget_seconds * percent // 100


ALLOWED_ATTACHMENT_TYPES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/plain",
        "text/csv",
    }
)
MAX_ATTACHMENT_BYTES = 512 * 1024
"""Within the API's 1 MiB request limit once base64-encoded."""


class AttachmentRefused(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def check_attachment(content_type: str, size: int, limit: int = MAX_ATTACHMENT_BYTES) -> str:
    """The bare media type if allowed and ``size`` within ``limit``; else 415 or 413 (AttachmentRefused)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in ALLOWED_ATTACHMENT_TYPES:
        allowed = ", ".join(sorted(ALLOWED_ATTACHMENT_TYPES))
        raise AttachmentRefused(
            415, "attachment_type_refused", f"{media or 'no type'} is not one of {allowed}"
        )
    if size > limit:
        raise AttachmentRefused(413, "attachment_too_large", f"{size} bytes is more than the {limit} allowed")
    if size == 0:
        raise AttachmentRefused(422, "attachment_empty", "The attachment is empty")
    return media


_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def check_content(media: str, content: bytes) -> None:
    """The bytes must be what the declared (allowed) type says: a file type's signature, or UTF-8 text
    without NUL bytes for text/plain and text/csv; else 415 ``attachment_content_mismatch``."""
    if media == "image/webp":
        fits = content[:4] == b"RIFF" and content[8:12] == b"WEBP"
    elif media in _SIGNATURES:
        fits = content.startswith(_SIGNATURES[media])
    else:
        try:
            fits = b"\x00" not in content and bool(content.decode("utf-8"))
        except UnicodeDecodeError:
            fits = False
    if not fits:
        raise AttachmentRefused(
            415,
            "attachment_content_mismatch",
            f"The file's content is not {media}: send it with its real type (one of the allowed ones)",
        )

"""Request and response bodies of /v1/usage."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict
from domain.money import quantize
from domain.tariff_specs import RateDeckSpec

MAX_BATCH = 10_000


class UsageBatch(Strict):
    """Events are checked one by one (a bad one is rejected with its reason, the others kept)."""

    events: list[Any] = Field(
        description=(
            f"Up to {MAX_BATCH} events: client_event_id, subscriber (sub_/svc_ id or an alias), "
            "event_type (voice|data|video), quantity (seconds|bytes|units), started_at (ISO 8601 with "
            "offset), destination (voice), metric (default: event_type), duration (data session seconds)"
        ),
        json_schema_extra={"maxItems": MAX_BATCH},
    )


class Rejected(BaseModel):
    index: int | None = None
    line: int | None = None
    client_event_id: str | None
    code: str
    message: str


class IngestOut(BaseModel):
    received: int
    accepted: int
    suspense: int = Field(description="Stored, but waiting in the suspense queue (e.g. unknown subscriber)")
    duplicates: int = Field(description="Client event ids stored before (in this or an earlier batch)")
    rejected: list[Rejected]


class RadiusBatch(Strict):
    records: list[Any] = Field(
        description=(
            "radacct records: Acct-Status-Type (Start|Interim-Update|Stop), Acct-Session-Id, User-Name, "
            "Acct-Input-Octets, Acct-Input-Gigawords, Acct-Output-Octets, Acct-Output-Gigawords, "
            "Acct-Session-Time, Event-Timestamp (epoch or ISO 8601)"
        ),
        json_schema_extra={"maxItems": MAX_BATCH},
    )


class RadiusOut(IngestOut):
    events: int = Field(description="Data events made from the increases of the counters")
    stale: int = Field(description="Records that added nothing (repeats, older interim updates)")


class AuthorizeIn(Strict):
    subscriber: str = Field(min_length=1, max_length=128)
    event_type: Literal["voice", "data", "video"]
    metric: str | None = Field(default=None, max_length=64)
    destination: str | None = Field(default=None, max_length=32)
    at: datetime | None = Field(default=None, description="When the call/session starts (default: now)")
    requested: int | None = Field(default=None, ge=0, le=10 * 1024**4, description="Most wanted (cap)")
    credit_limit: Decimal | None = Field(
        default=None, ge=0, description="Spend allowed beyond the allowance this period (until wallets)"
    )


class AuthorizeOut(BaseModel):
    subscription_id: str
    service_id: str
    metric: str
    granted: bool
    max_quantity: int
    unit: str
    allowance_remaining: int
    funds_available: str
    currency: str
    tariff: str
    period_start: date
    period_end: date


class RerateIn(Strict):
    subscription_id: str = Field(max_length=32)
    period_start: date


class RerateOut(BaseModel):
    subscription_id: str
    period_start: date
    events: int
    adjustments: int
    difference: str = Field(description="Sum of the adjustments at the rating precision")
    currency: str


class RatingRunIn(Strict):
    limit: int = Field(default=5_000, ge=1, le=50_000)


class RatingRunOut(BaseModel):
    picked: int = Field(description="Accepted events taken up by this run")
    rated: int
    suspense: int = Field(description="Events that could not be rated and wait in the suspense queue")
    subscriptions: int


class RatedLine(BaseModel):
    metric: str
    destination: str | None = Field(description="The matched prefix")
    name: str | None = Field(description="The destination's name")
    events: int
    quantity: int
    amount: str = Field(description="At the rating precision")


class RatedOut(BaseModel):
    subscription_id: str
    period_start: date
    currency: str | None = Field(description="Null when nothing was rated in the period")
    adjustments: int = Field(description="Re-rating adjustments among the rows")
    lines: list[RatedLine]
    total: str
    precision: int


class RateDeckIn(Strict):
    effective_from: datetime
    deck: RateDeckSpec


class RateDeckOut(BaseModel):
    id: str
    code: str
    currency: str
    version: int
    effective_from: datetime
    destinations: int


class AliasIn(Strict):
    alias: str = Field(min_length=1, max_length=128, description="Phone number, username, device id")
    service_id: str = Field(max_length=32)


class AliasOut(BaseModel):
    alias: str
    subscription_id: str
    service_id: str


class SuspendedEvent(BaseModel):
    id: int
    client_event_id: str
    subscriber: str
    subscription_id: str | None
    service_id: str | None
    event_type: str
    metric: str
    quantity: int
    started_at: datetime
    destination: str | None = Field(description="E.164 when readable as a phone number, else as sent")
    destination_raw: str | None = Field(default=None, description="The dialled number as sent")
    source: str
    status: str
    reason: str | None
    detail: str | None
    attempts: int


class SuspensePage(BaseModel):
    data: list[SuspendedEvent]
    next_cursor: str | None
    has_more: bool


def rated_summary(rows: list[Any]) -> dict[str, Any]:
    """Totals per metric and destination (for the invoice's per-destination summary)."""
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    total = Decimal(0)
    places = max((row.precision for row in rows), default=4)
    for row in rows:
        key = (row.metric, row.destination)
        group = groups.setdefault(
            key,
            {
                "metric": row.metric,
                "destination": row.destination,
                "name": row.destination_name,
                "events": 0,
                "quantity": 0,
                "amount": Decimal(0),
            },
        )
        group["events"] += 1 if row.kind == "rated" else 0
        group["quantity"] += row.quantity
        group["amount"] += row.amount
        total += row.amount
    # Amounts are stored at the rating precision: this only drops the storage's trailing zeros.
    lines = [{**g, "amount": str(quantize(g["amount"], places))} for g in groups.values()]
    return {"lines": lines, "total": str(quantize(total, places)), "precision": places}

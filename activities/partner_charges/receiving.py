"""Storing charges a provider sent (listed or pushed): one row per (operator, provider, charge number),
however often it comes; ``times_received`` counts every copy. One transaction, idempotent.

A charge whose fields do not fit what we keep (a currency that is not three letters, a charge number
longer than 64 characters…) is stored declined at once (``BAD_REQUEST``), its text kept in the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.partner_charges.recording import declined_event
from domain.ids import new_id
from domain.partner_charges import decline, reference_for
from integrations.partners.base import PartnerCharge as Incoming
from models.partners import PartnerCharge

LIMITS = {"charge_number": 64, "customer_id": 64, "partner_plan": 32, "currency": 3, "local_currency": 3}


@dataclass(frozen=True)
class Received:
    new: int
    repeats: int
    declined_on_arrival: int


def shape_problem(charge: Incoming) -> str | None:
    """Why the charge cannot be stored as sent (a field too long for it), or None."""
    for name, most in LIMITS.items():
        value = str(getattr(charge, name))
        if not value or len(value) > most or (most == 3 and len(value) != 3):
            return f"{name} {value[:80]!r} is not a valid value"
    return None


def _row(
    organisation_id: str, provider: str, charge: Incoming, copies: int, now: datetime
) -> dict[str, object]:
    charge_id = new_id("pch")
    row: dict[str, object] = {
        "id": charge_id,
        "organisation_id": organisation_id,
        "provider": provider,
        "charge_number": charge.charge_number[:64],
        "partner_customer_id": charge.customer_id[:64],
        "partner_plan": charge.partner_plan[:32],
        "amount_minor": charge.amount_minor,
        "currency": charge.currency[:3],
        "local_amount_minor": charge.local_amount_minor,
        "local_currency": charge.local_currency[:3],
        "paid_through": charge.paid_through,
        "received_at": charge.received_at,
        "status": "received",
        "times_received": copies,
        "created_at": now,
    }
    problem = shape_problem(charge)
    if problem is not None:
        verdict = decline("bad_request", problem, "BAD_REQUEST")
        row.update(
            status="declined",
            decline_status=verdict.decline_status,
            reason=verdict.reason,
            reference=reference_for(charge_id),
            decided_at=now,
        )
    return row


def store_received(
    session: Session, organisation_id: str, provider: str, charges: list[Incoming], now: datetime
) -> Received:
    """Insert the new charges, count the copies of known ones; what happened."""
    if not charges:
        return Received(0, 0, 0)
    copies = Counter(c.charge_number[:64] for c in charges)
    first: dict[str, Incoming] = {}
    for charge in charges:
        first.setdefault(charge.charge_number[:64], charge)
    rows = [_row(organisation_id, provider, c, copies[n], now) for n, c in sorted(first.items())]
    values = insert(PartnerCharge).values(rows)
    stmt = values.on_conflict_do_update(
        index_elements=["organisation_id", "provider", "charge_number"],
        set_={"times_received": PartnerCharge.times_received + values.excluded.times_received},
    ).returning(
        PartnerCharge.id, PartnerCharge.status, literal_column("(xmax = 0)", Boolean).label("inserted")
    )
    results = session.execute(stmt).all()
    new = sum(1 for r in results if r.inserted)
    declined_ids = {str(r.id) for r in results if r.inserted and r.status == "declined"}
    for charge_id in sorted(declined_ids):
        row = session.get(PartnerCharge, charge_id)
        assert row is not None
        declined_event(session, row)
    return Received(new=new, repeats=len(charges) - new, declined_on_arrival=len(declined_ids))

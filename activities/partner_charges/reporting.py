"""Reporting decisions to the provider: which decided charges it has not taken yet, and stamping its
answer to one batch (one transaction). ``ALREADY_PROCESSED`` means it has our decision (a retry after a
lost answer): reported. Any other refusal (``CHARGE_NOT_FOUND``, ``CUSTOMER_MISMATCH``…) is kept on the
charge, shown in the API, and not sent again; an accepted charge so refused is not billed (its pending
charge voided, its wallet debit reversed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.partner_charges.recording import undo_billing
from domain.partner_charges import counts_as_reported
from integrations.partners.base import Decision, FailedDecision
from models.partners import PartnerCharge

PAGE = 1000


@dataclass(frozen=True)
class Outgoing:
    """A decided charge to tell the provider about."""

    charge_id: str
    accepted: bool
    decision: Decision


@dataclass(frozen=True)
class Stamped:
    reported: int
    already: int
    failed: int


def unreported(session: Session, organisation_id: str, provider: str, limit: int = PAGE) -> list[Outgoing]:
    """Decided charges the provider has neither taken nor refused, in the order they were decided."""
    rows = session.execute(
        select(PartnerCharge)
        .where(
            PartnerCharge.organisation_id == organisation_id,
            PartnerCharge.provider == provider,
            PartnerCharge.status.in_(("accepted", "declined")),
            PartnerCharge.reported_at.is_(None),
            PartnerCharge.report_error_code.is_(None),
        )
        .order_by(PartnerCharge.decided_at, PartnerCharge.id)
        .limit(limit)
    ).scalars()
    return [
        Outgoing(
            charge_id=row.id,
            accepted=row.status == "accepted",
            decision=Decision(
                charge_number=row.charge_number,
                customer_id=row.partner_customer_id,
                reference=row.reference,
                status=row.decline_status or "DECLINED",
                reason=row.reason,
            ),
        )
        for row in rows
    ]


def stamp_batch(
    session: Session, batch: list[Outgoing], failed: list[FailedDecision], at: datetime
) -> Stamped:
    """Record the provider's answer to one batch: reported at ``at``, or its refusal kept on the row."""
    refused = {f.charge_number: f for f in failed if f.charge_number is not None}
    reported = already = failures = 0
    for item in batch:
        row = session.get(PartnerCharge, item.charge_id, with_for_update=True)
        if row is None or row.reported_at is not None:
            continue
        problem = refused.get(item.decision.charge_number)
        if problem is not None and not counts_as_reported(problem.error_code):
            row.report_error_code, row.report_error = problem.error_code[:40], problem.description
            if row.status == "accepted":
                undo_billing(session, row, at.date())
            failures += 1
            continue
        row.reported_at = at
        reported += 1
        already += problem is not None
    unnamed = [f for f in failed if f.charge_number is None]
    return Stamped(reported=reported, already=already, failed=failures + len(unnamed))

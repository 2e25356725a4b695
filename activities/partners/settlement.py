"""The monthly statement with a partner provider: the accepted charges decided in the month (in the
connection's time zone), the operator's revenue share (rounded once), what is payable to the partner, a
balanced ledger entry, and each charge stamped with the settlement so nothing settles twice. One
transaction; idempotent per (organisation, provider, month). Read back as JSON, CSV and PDF."""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.invoices.documents import html_to_pdf
from activities.partners.sessions import connection_of
from activities.shared.ledger import post_entry
from domain import ledger, partners
from domain.errors import Conflict, NotFound, RuleViolation
from domain.events import BusinessEvent
from domain.i18n import format_money
from domain.ids import new_id
from models.base import utcnow
from models.partner_settlements import PartnerSettlement
from models.partners import PartnerCharge, PartnerConnection


@dataclass(frozen=True)
class SettlementResult:
    settlement: PartnerSettlement
    created: bool


def settle_month(session: Session, organisation_id: str, provider: str, month: date) -> SettlementResult:
    """The (organisation, provider, month) statement: made now, or the one made before (nothing changes)."""
    month = date(month.year, month.month, 1)
    existing = find_by_month(session, organisation_id, provider, month)
    if existing is not None:
        return SettlementResult(existing, False)
    connection = _connection(session, organisation_id, provider)
    time_zone = _time_zone(connection)
    start, end = partners.month_bounds(month, time_zone)
    charges = (
        session.execute(
            select(PartnerCharge)
            .where(
                PartnerCharge.organisation_id == organisation_id,
                PartnerCharge.provider == provider,
                PartnerCharge.status == "accepted",
                PartnerCharge.settlement_id.is_(None),
                PartnerCharge.decided_at >= start,
                PartnerCharge.decided_at < end,
            )
            .order_by(PartnerCharge.charge_number)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    currencies = sorted({c.currency for c in charges})
    if len(currencies) > 1:
        raise Conflict(
            "partner_settlement_currencies",
            f"{provider} charged in {', '.join(currencies)} in {month:%Y-%m}: one currency per statement",
            field="month",
        )
    currency = currencies[0] if currencies else str((connection.options or {}).get("currency") or "USD")
    charged = sum(c.amount_minor for c in charges)
    percent = Decimal(connection.revenue_share_percent or 0)
    share, payable = partners.revenue_share(charged, currency, percent)
    settlement_id = new_id("pset")
    inserted = session.execute(
        pg_insert(PartnerSettlement)
        .values(
            id=settlement_id,
            organisation_id=organisation_id,
            provider=provider,
            month=month,
            time_zone=time_zone,
            currency=currency,
            charge_count=len(charges),
            charged_minor=charged,
            revenue_share_percent=percent,
            operator_share_minor=share,
            partner_payable_minor=payable,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["organisation_id", "provider", "month"])
        .returning(PartnerSettlement.id)
    ).first()
    if inserted is None:  # a concurrent run made it first
        made = find_by_month(session, organisation_id, provider, month)
        assert made is not None
        return SettlementResult(made, False)
    if charges:
        session.execute(
            update(PartnerCharge)
            .where(PartnerCharge.id.in_([c.id for c in charges]))
            .values(settlement_id=settlement_id)
        )
    row = session.get(PartnerSettlement, settlement_id)
    assert row is not None
    if charged:
        last_day = date(month.year + (month.month == 12), month.month % 12 + 1, 1) - timedelta(days=1)
        row.ledger_entry_id = post_entry(
            session,
            organisation_id=organisation_id,
            customer_id=None,
            kind="partner_settlement",
            source_id=settlement_id,
            currency=currency,
            booked_on=last_day,
            postings=ledger.partner_settlement_entry(provider, currency, charged, share),
            key=f"partner_settlement:{organisation_id}:{provider}:{month:%Y-%m}",
            memo=f"{provider} statement {month:%Y-%m}",
        )
    record(
        session,
        BusinessEvent(
            "partner.settled", organisation_id, "partner_settlement", settlement_id, settlement_json(row)
        ),
    )
    session.flush()
    return SettlementResult(row, True)


def _connection(session: Session, organisation_id: str, provider: str) -> PartnerConnection:
    connection = connection_of(session, organisation_id, provider)
    if connection is None:
        raise RuleViolation(
            "partner_not_connected",
            f"organisation {organisation_id} has no connection to partner {provider!r}: connect it "
            "(POST /v1/partner-connections) before settling",
            field="provider",
        )
    return connection


def _time_zone(connection: PartnerConnection) -> str:
    return str((connection.options or {}).get("time_zone") or "UTC")


def due_month(session: Session, organisation_id: str, provider: str, at: datetime) -> date:
    """The month a monthly run at ``at`` settles: the one before, in the connection's time zone."""
    connection = _connection(session, organisation_id, provider)
    return partners.previous_month(at, _time_zone(connection))


def find_by_month(
    session: Session, organisation_id: str, provider: str, month: date
) -> PartnerSettlement | None:
    return session.execute(
        select(PartnerSettlement).where(
            PartnerSettlement.organisation_id == organisation_id,
            PartnerSettlement.provider == provider,
            PartnerSettlement.month == month,
        )
    ).scalar_one_or_none()


def find_settlement(session: Session, organisation_id: str, settlement_id: str) -> PartnerSettlement:
    row = session.get(PartnerSettlement, settlement_id)
    if row is None or row.organisation_id != organisation_id:
        raise NotFound("partner_settlement", settlement_id)
    return row


def settled_charges(session: Session, settlement: PartnerSettlement) -> list[PartnerCharge]:
    return list(
        session.execute(
            select(PartnerCharge)
            .where(
                PartnerCharge.organisation_id == settlement.organisation_id,
                PartnerCharge.settlement_id == settlement.id,
            )
            .order_by(PartnerCharge.charge_number)
        ).scalars()
    )


def settlement_json(row: PartnerSettlement) -> dict[str, object]:
    return {
        "id": row.id,
        "object": "partner_settlement",
        "provider": row.provider,
        "month": f"{row.month:%Y-%m}",
        "time_zone": row.time_zone,
        "currency": row.currency,
        "charge_count": row.charge_count,
        "charged_minor": row.charged_minor,
        "revenue_share_percent": f"{Decimal(row.revenue_share_percent):.4f}",
        "operator_share_minor": row.operator_share_minor,
        "partner_payable_minor": row.partner_payable_minor,
        "ledger_entry_id": row.ledger_entry_id,
        "created_at": row.created_at.isoformat(),
    }


CSV_COLUMNS = (
    "charge_number",
    "partner_customer_id",
    "account_id",
    "partner_plan",
    "paid_through",
    "decided_at",
    "currency",
    "amount_minor",
)


def settlement_csv(session: Session, row: PartnerSettlement) -> str:
    """One line per charge settled, then a total line (amounts in minor units)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in settled_charges(session, row):
        writer.writerow(
            [
                c.charge_number,
                c.partner_customer_id,
                c.account_id or "",
                c.partner_plan,
                c.paid_through.isoformat(),
                c.decided_at.isoformat() if c.decided_at else "",
                c.currency,
                c.amount_minor,
            ]
        )
    writer.writerow(["total", "", "", "", "", "", row.currency, row.charged_minor])
    writer.writerow(["operator_share", "", "", "", "", "", row.currency, row.operator_share_minor])
    writer.writerow(["partner_payable", "", "", "", "", "", row.currency, row.partner_payable_minor])
    return out.getvalue()


def settlement_html(session: Session, row: PartnerSettlement) -> str:
    def money(minor: int) -> str:
        return html.escape(format_money(minor, row.currency, "en"))

    lines = "".join(
        f"<tr><td>{html.escape(c.charge_number)}</td><td>{html.escape(c.partner_customer_id)}</td>"
        f"<td>{html.escape(c.partner_plan)}</td><td>{c.paid_through.isoformat()}</td>"
        f"<td class='n'>{money(c.amount_minor)}</td></tr>"
        for c in settled_charges(session, row)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Partner statement</title>"
        "<style>body{font-family:sans-serif;font-size:10pt}table{border-collapse:collapse;width:100%}"
        "td,th{border-bottom:1px solid #ccc;padding:3px}.n{text-align:right}</style></head><body>"
        f"<h1>{html.escape(row.provider.title())} statement {row.month:%Y-%m}</h1>"
        f"<p>Settlement {html.escape(row.id)}; month cut in {html.escape(row.time_zone)}; "
        f"{row.charge_count} accepted charges.</p>"
        "<table><tr><th>Charge</th><th>Customer</th><th>Plan</th><th>Paid through</th>"
        f"<th class='n'>Amount</th></tr>{lines}</table>"
        f"<p>Total charged: {money(row.charged_minor)}<br>"
        f"Operator share ({html.escape(str(row.revenue_share_percent))}%): "
        f"{money(row.operator_share_minor)}<br>"
        f"<strong>Payable to the partner: {money(row.partner_payable_minor)}</strong></p></body></html>"
    )


def settlement_pdf(session: Session, row: PartnerSettlement) -> bytes:
    return html_to_pdf(settlement_html(session, row))

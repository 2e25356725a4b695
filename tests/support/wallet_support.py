"""Test support for wallets, vouchers and SEPA: prepaid subscriptions inserted directly, ledger reads,
a card gateway that approves or declines by token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from domain.catalog import PlanSpec
from domain.ids import new_id
from integrations.payments.base import ChargeRequest, ChargeResult, ChargeStatus, RefundRequest, RefundResult
from models.base import unit_of_work
from models.billing import LedgerEntry, LedgerPosting
from models.catalog import PlanVersion
from models.subscriptions import Subscription, SubscriptionService


def make_prepaid_subscription(
    database_url: str,
    organisation_id: str,
    account_id: str,
    *,
    price: str = "10.00",
    start: date = date(2026, 1, 1),
    kind: str = "broadband",
) -> str:
    """An active prepaid subscription on a monthly plan (bill day 1) priced ``price`` EUR."""
    code = f"prepaid-{uuid.uuid4().hex[:8]}"
    spec = PlanSpec.model_validate(
        {
            "code": code,
            "name": f"Prepaid {code}",
            "product_code": f"{kind}-product",
            "billing_term": "prepaid",
            "phases": [{"kind": "evergreen", "prices": {"EUR": price}}],
        }
    )
    sub_id = new_id("sub")
    with unit_of_work(database_url) as session:
        session.add(
            PlanVersion(
                id=new_id("pln"),
                organisation_id=organisation_id,
                code=code,
                version=1,
                effective_from=date(2000, 1, 1),
                product_code=spec.product_code,
                role="base",
                spec=spec.model_dump(mode="json"),
            )
        )
        session.add(
            Subscription(
                id=sub_id,
                organisation_id=organisation_id,
                account_id=account_id,
                request_id=uuid.uuid4().hex,
                status="active",
                currency="EUR",
                timezone="Europe/Madrid",
                bill_day=1,
                billing_term="prepaid",
                start_date=start,
                version=1,
            )
        )
        session.flush()
        service_id = f"svc_{sub_id[4:]}00"
        session.add(
            SubscriptionService(
                id=service_id,
                line_id=service_id,
                subscription_id=sub_id,
                plan_code=code,
                plan_version=1,
                product_kind=kind,
                role="base",
                quantity=1,
                status="active",
                started_on=start,
            )
        )
    return sub_id


def postings_of(database_url: str, entry_id: str) -> list[tuple[str, str | None, int, int]]:
    """(ledger account, customer, debit, credit) of one entry, in a stable order."""
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(LedgerPosting).where(LedgerPosting.entry_id == entry_id).order_by(LedgerPosting.id)
        ).scalars()
        return [(r.ledger_account, r.customer_id, r.debit_minor, r.credit_minor) for r in rows]


def entries_for(database_url: str, account_id: str) -> list[LedgerEntry]:
    with unit_of_work(database_url) as session:
        stmt = select(LedgerEntry).where(LedgerEntry.account_id == account_id).order_by(LedgerEntry.id)
        return list(session.execute(stmt).scalars())


@dataclass
class FakeCardGateway:
    """Approves every token except ``tok_decline``; remembers each charge by idempotency key."""

    name: str = "fakecard"
    charges: dict[str, ChargeRequest] = field(default_factory=dict)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if request.method_token == "tok_decline":
            return ChargeResult(status=ChargeStatus.DECLINED, decline_code="card_declined")
        self.charges.setdefault(request.idempotency_key, request)
        return ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=f"ch_{request.idempotency_key}")

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        if idempotency_key not in self.charges:
            return None
        return ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=f"ch_{idempotency_key}")

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(status="succeeded")

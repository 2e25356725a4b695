"""Crafted rows for segment tests: accounts with addresses, subscriptions and services, usage, invoices,
payments, payment methods, wallets and dunning steps, written straight to the tables (small, exact data
whose segment membership a test can tell by hand)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from activities.segments.refresh import Refreshed, refresh_segment
from domain import segments as rules
from domain.ids import new_id
from models.base import engine_for, unit_of_work
from models.segments import Segment, SegmentMember, SegmentMembershipChange

AT = datetime(2026, 1, 1, tzinfo=UTC)


def at(day: str) -> datetime:
    """Noon UTC of an ISO day."""
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


@dataclass
class Crafted:
    """A writer of rows for one organisation."""

    database_url: str
    organisation_id: str
    _n: int = field(default=0)

    def _run(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(row)
        vals = ", ".join(f"cast(:{k} as jsonb)" if k in ("addresses", "data") else f":{k}" for k in row)
        with engine_for(self.database_url).begin() as conn:
            conn.execute(sa.text(f"insert into {table} ({cols}) values ({vals})"), row)  # noqa: S608

    def account(
        self,
        *,
        type: str = "person",
        language: str = "en",
        status: str = "active",
        addresses: list[dict[str, str]] | None = None,
    ) -> str:
        import json

        account_id = new_id("acc")
        self._run(
            "accounts",
            {
                "id": account_id,
                "organisation_id": self.organisation_id,
                "type": type,
                "status": status,
                "display_name": "Crafted",
                "email": f"{uuid.uuid4().hex[:10]}@example.com",
                "language": language,
                "currency": "EUR",
                "timezone": "Europe/Madrid",
                "tax_status": "taxable",
                "addresses": json.dumps(addresses or []),
                "contacts": "[]",
                "verification_status": "not_requested",
                "version": 1,
                "created_at": AT,
                "updated_at": AT,
            },
        )
        return account_id

    def subscription(
        self,
        account_id: str,
        *,
        start: str = "2025-01-01",
        status: str = "active",
        services: list[dict[str, Any]] | None = None,
    ) -> str:
        sub_id = new_id("sub")
        self._run(
            "subscriptions",
            {
                "id": sub_id,
                "organisation_id": self.organisation_id,
                "account_id": account_id,
                "request_id": uuid.uuid4().hex,
                "status": status,
                "currency": "EUR",
                "timezone": "Europe/Madrid",
                "bill_day": 1,
                "billing_term": "monthly",
                "start_date": date.fromisoformat(start),
                "version": 1,
                "created_at": AT,
                "updated_at": AT,
            },
        )
        for spec in services or [{}]:
            self._run(
                "subscription_services",
                {
                    "id": new_id("svc"),
                    "subscription_id": sub_id,
                    "line_id": new_id("lin"),
                    "plan_code": spec.get("plan", "BASIC"),
                    "plan_version": 1,
                    "product_kind": spec.get("kind", "broadband"),
                    "role": spec.get("role", "base"),
                    "quantity": 1,
                    "bundle_code": spec.get("bundle"),
                    "status": spec.get("status", "active"),
                    "started_on": date.fromisoformat(start),
                    "created_at": AT,
                },
            )
        return sub_id

    def usage(
        self, subscription_id: str, metric: str, quantity: int, day: str, status: str = "rated"
    ) -> None:
        self._run(
            "usage_events",
            {
                "organisation_id": self.organisation_id,
                "client_event_id": uuid.uuid4().hex,
                "subscriber": subscription_id,
                "subscription_id": subscription_id,
                "event_type": "data",
                "metric": metric,
                "quantity": quantity,
                "started_at": at(day),
                "source": "api",
                "status": status,
                "attempts": 0,
                "received_at": at(day),
            },
        )

    def invoice(
        self,
        account_id: str,
        total: int,
        *,
        issued: str,
        due: str | None = None,
        status: str = "paid",
        currency: str = "EUR",
    ) -> str:
        invoice_id = new_id("inv")
        self._n += 1
        self._run(
            "invoices",
            {
                "id": invoice_id,
                "organisation_id": self.organisation_id,
                "account_id": account_id,
                "number": f"T-{invoice_id[-10:]}",
                "status": status,
                "currency": currency,
                "issue_date": date.fromisoformat(issued),
                "due_date": date.fromisoformat(due or issued),
                "net_minor": total,
                "tax_minor": 0,
                "total_minor": total,
                "paid_minor": total if status == "paid" else 0,
                "tax_inclusive": False,
                "taxes": "[]",
                "created_at": at(issued),
            },
        )
        return invoice_id

    def payment(
        self,
        account_id: str,
        amount: int,
        *,
        day: str,
        status: str = "succeeded",
        refunded: int = 0,
        currency: str = "EUR",
        invoice_id: str | None = None,
    ) -> str:
        payment_id = new_id("pay")
        self._run(
            "payments",
            {
                "id": payment_id,
                "organisation_id": self.organisation_id,
                "account_id": account_id,
                "kind": "card",
                "amount_minor": amount,
                "currency": currency,
                "status": status,
                "gateway": "test",
                "idempotency_key": uuid.uuid4().hex,
                "attempt": 1,
                "refunded_minor": refunded,
                "unallocated_minor": 0,
                "created_at": at(day),
                "updated_at": at(day),
            },
        )
        if invoice_id is not None:
            self._run(
                "payment_allocations",
                {
                    "payment_id": payment_id,
                    "invoice_id": invoice_id,
                    "amount_minor": amount,
                    "reversed_minor": 0,
                    "created_at": at(day),
                },
            )
        return payment_id

    def method(self, account_id: str, kind: str, *, status: str = "active") -> None:
        self._run(
            "payment_methods",
            {
                "id": new_id("pm"),
                "account_id": account_id,
                "kind": kind,
                "gateway": "test",
                "details": "{}",
                "is_default": True,
                "status": status,
                "created_at": AT,
            },
        )

    def wallet(self, account_id: str, balance: int, currency: str = "EUR") -> None:
        self._run(
            "wallets",
            {
                "id": new_id("wal"),
                "organisation_id": self.organisation_id,
                "account_id": account_id,
                "currency": currency,
                "balance_minor": balance,
                "low_balance_threshold_minor": 0,
                "low_balance_notified": False,
                "created_at": AT,
                "updated_at": AT,
            },
        )

    def dunning_step(self, invoice_id: str, day: str) -> None:
        self._run(
            "business_events",
            {
                "id": new_id("evt"),
                "type": "dunning.step",
                "organisation_id": self.organisation_id,
                "object_type": "invoice",
                "object_id": invoice_id,
                "data": "{}",
                "api_version": "2026-11-30",
                "occurred_at": at(day),
            },
        )

    def segment(self, rule: dict[str, Any], code: str | None = None) -> str:
        segment_id = new_id("seg")
        with unit_of_work(self.database_url) as session:
            session.add(
                Segment(
                    id=segment_id,
                    organisation_id=self.organisation_id,
                    code=code or uuid.uuid4().hex[:12],
                    name="Crafted",
                    rules=rules.rule_json(rules.parse_rule(rule)),
                    member_count=0,
                )
            )
        return segment_id

    def refresh(self, segment_id: str, refresh_id: str, as_of: str) -> Refreshed:
        with unit_of_work(self.database_url) as session:
            return refresh_segment(session, segment_id, refresh_id, date.fromisoformat(as_of))


def members(database_url: str, segment_id: str) -> set[str]:
    with unit_of_work(database_url) as session:
        stmt = sa.select(SegmentMember.account_id).where(SegmentMember.segment_id == segment_id)
        return set(session.execute(stmt).scalars())


def changes(database_url: str, segment_id: str, refresh_id: str) -> dict[str, set[str]]:
    """``{"joined": {...}, "left": {...}}`` of one refresh."""
    out: dict[str, set[str]] = {"joined": set(), "left": set()}
    with unit_of_work(database_url) as session:
        rows = session.execute(
            sa.select(SegmentMembershipChange.change, SegmentMembershipChange.account_id).where(
                SegmentMembershipChange.segment_id == segment_id,
                SegmentMembershipChange.refresh_id == refresh_id,
            )
        )
        for change, account_id in rows:
            out[change].add(account_id)
    return out

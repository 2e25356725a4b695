"""Test data for provisioning: an account with a subscription and services, inserted directly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from activities.accounts.organisations import authenticate
from activities.accounts.records import create_account
from domain.ids import new_id
from models.base import unit_of_work
from models.subscriptions import Subscription, SubscriptionService
from tests.support.factories import Tenant, person


@dataclass(frozen=True)
class Provisioned:
    account_id: str
    subscription_id: str
    services: dict[str, str]  # line id → product kind


def make_subscription(database_url: str, tenant: Tenant, services: dict[str, str]) -> Provisioned:
    """An active subscription with one service per ``{line_id: "kind:status"}`` (line ids made unique)."""
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
        assert principal is not None
        account = create_account(session, principal, person())
        subscription = Subscription(
            id=new_id("sub"),
            organisation_id=account.organisation_id,
            account_id=account.id,
            request_id=uuid.uuid4().hex,
            status="active",
            currency="EUR",
            timezone="Europe/Madrid",
            bill_day=1,
            billing_term="monthly",
            start_date=date(2026, 1, 1),
        )
        session.add(subscription)
        session.flush()
        lines: dict[str, str] = {}
        for line_id, spec in services.items():
            kind, status = spec.split(":")
            session.add(
                SubscriptionService(
                    id=new_id("svc"),
                    subscription_id=subscription.id,
                    line_id=line_id,
                    plan_code=f"{kind}-plan",
                    plan_version=1,
                    product_kind=kind,
                    role="base",
                    status=status,
                    started_on=date(2026, 1, 1),
                    ended_on=date(2026, 2, 1) if status == "terminated" else None,
                )
            )
            lines[line_id] = kind
        return Provisioned(account.id, subscription.id, lines)


def line() -> str:
    return f"lin_{uuid.uuid4().hex[:16]}"

"""What the subscriber can buy today: the operator's plans on sale, priced in the account's currency,
each base plan with the add-ons it allows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.catalog import records as catalog
from activities.selfservice.changes import money
from activities.subscriptions import records as store
from activities.subscriptions.onboarding import local_today
from domain.catalog import PlanSpec
from domain.errors import RuleViolation
from domain.subscriptions import ServiceTerms, price_on
from models.accounts import Account
from models.catalog import PlanVersion


def catalogue_for(session: Session, account: Account) -> dict[str, Any]:
    """Plans on sale today in the account's currency (base plans, then add-ons, by code)."""
    operator = store.operator_id(session, account.organisation_id)
    today = local_today(account.timezone)
    codes = session.scalars(
        select(PlanVersion.code).where(PlanVersion.organisation_id == operator).distinct()
    ).all()
    plans: list[dict[str, Any]] = []
    for code in sorted(codes):
        try:
            row = catalog.plan_on(session, operator, code, today)
        except RuleViolation:  # not on sale yet
            continue
        spec = PlanSpec.model_validate(row.spec)
        if not spec.priced_in(account.currency) or spec.access_hours is not None:
            continue
        terms = ServiceTerms(spec, today, 1, account.currency, today.day, today)
        price = price_on(terms, today)
        plans.append(
            {
                "code": spec.code,
                "name": spec.name,
                "role": spec.role,
                "version": row.version,
                "billing_period": spec.billing_period.value,
                "billing_interval": spec.billing_interval,
                "billing_term": spec.billing_term.value,
                "price": money(price.amount_minor, price.currency),
                "addons": [{"plan": r.plan_code, "rule": r.rule} for r in spec.addons],
            }
        )
    plans.sort(key=lambda p: (p["role"] != "base", p["code"]))
    return {"object": "catalogue", "currency": account.currency, "on": today.isoformat(), "plans": plans}

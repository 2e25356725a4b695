"""Partner memberships (``partner_subscriptions``): one per partner-service line of a subscription.

Transaction scripts, one transaction each, idempotent: the activities call the provider between them.
Every change of state records its business event in the same transaction: ``partner.signup_link`` (the
URL the subscriber completes the sign-up at), ``partner.activated``, ``partner.ended``, ``partner.failed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.catalog import records as catalog
from activities.catalog.records import operator_of
from activities.events.outbox import record
from activities.partners.io import MembershipState
from activities.subscriptions import records as store
from domain.catalog import PartnerServiceSpec
from domain.errors import NotFound
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.principal import Principal
from models.accounts import Account
from models.base import utcnow
from models.organisations import Organisation
from models.partners import PartnerSubscription
from models.subscriptions import Subscription

LIVE = ("pending_signup", "active")
SIGNUP_VALIDITY_SECONDS = 86_400  # the protocol's longest; a connection's options may shorten it


def signup_validity(options: dict[str, Any]) -> int:
    """How long a sign-up link stays valid: the connection's ``signup_validity_seconds`` option (1 s to
    24 h), else 24 h."""
    try:
        wanted = int(options.get("signup_validity_seconds", SIGNUP_VALIDITY_SECONDS))
    except (TypeError, ValueError):
        return SIGNUP_VALIDITY_SECONDS
    return min(max(wanted, 1), SIGNUP_VALIDITY_SECONDS)


@dataclass(frozen=True)
class PartnerLine:
    service_id: str
    plan_code: str
    spec: PartnerServiceSpec


def partner_spec_of(
    session: Session, operator: str, plan_code: str, plan_version: int
) -> PartnerServiceSpec | None:
    """The partner spec of the plan's product, when it is a ``partner_service``."""
    plan = store.plan_spec(session, operator, plan_code, plan_version)
    product = catalog.product(session, operator, plan.product_code)
    partner = (product.spec or {}).get("partner")
    return PartnerServiceSpec.model_validate(partner) if partner else None


def partner_lines(
    session: Session, subscription_id: str, service_ids: Sequence[str] = ()
) -> list[PartnerLine]:
    """The subscription's current partner-service lines (or the given ones), by line id."""
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound("subscription", subscription_id)
    operator = store.operator_id(session, sub.organisation_id)
    lines = []
    for row in store.services(session, subscription_id):
        if row.status in ("terminated", "failed") or row.replaced_by is not None:
            continue
        if row.product_kind != "partner_service" or (service_ids and row.line_id not in service_ids):
            continue
        spec = partner_spec_of(session, operator, row.plan_code, row.plan_version)
        if spec is not None:
            lines.append(PartnerLine(row.line_id, row.plan_code, spec))
    return lines


def open_membership(session: Session, subscription_id: str, line: PartnerLine) -> PartnerSubscription:
    """The line's live membership, or a new one (``pending_signup``); ``failed`` at once when the account
    already holds a live membership at the provider through another subscription.

    The membership belongs to the operator (the root organisation), whoever sold the subscription: the
    operator is the merchant of record, holds the provider connection and accepts the charges, also for
    the customers of its partners and outlets."""
    existing = session.execute(
        select(PartnerSubscription)
        .where(
            PartnerSubscription.subscription_id == subscription_id,
            PartnerSubscription.service_id == line.service_id,
        )
        .order_by(PartnerSubscription.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None and existing.status in LIVE:
        return existing
    sub = session.get(Subscription, subscription_id)
    assert sub is not None
    operator = store.operator_id(session, sub.organisation_id)
    row = PartnerSubscription(
        id=new_id("psub"),
        organisation_id=operator,
        account_id=sub.account_id,
        subscription_id=subscription_id,
        service_id=line.service_id,
        provider=line.spec.provider,
        partner_plan=line.spec.partner_plan,
        partner_customer_id=sub.account_id,
        status="pending_signup",
        channel=line.spec.channel,
        promotion_code=line.spec.promotion_code,
        allowance_minor=line.spec.allowance_minor,
        currency=line.spec.currency,
        included_in_price=line.spec.included_in_price,
        created_at=utcnow(),
    )
    taken = session.execute(
        select(PartnerSubscription.id).where(
            PartnerSubscription.organisation_id == operator,
            PartnerSubscription.provider == line.spec.provider,
            PartnerSubscription.partner_customer_id == sub.account_id,
            PartnerSubscription.status.in_(LIVE),
        )
    ).first()
    if taken is not None:
        row.status, row.ended_at = "failed", utcnow()
        row.end_reason = (
            f"account {sub.account_id} already has a live {line.spec.provider} membership ({taken[0]})"
        )
    session.add(row)
    session.flush()
    if row.status == "failed":
        _event(session, "partner.failed", row)
    return row


def customer_of(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    return account


def set_link(session: Session, psub_id: str, url: str, expires_at: datetime | None) -> PartnerSubscription:
    """Keep the sign-up link; the first time, tell the subscriber (event ``partner.signup_link``)."""
    row = _locked(session, psub_id)
    if row.status != "pending_signup" or row.signup_url == url:
        return row
    row.signup_url, row.signup_expires_at = url, expires_at
    session.flush()
    _event(session, "partner.signup_link", row)
    return row


def activate(session: Session, psub_id: str) -> PartnerSubscription:
    row = _locked(session, psub_id)
    if row.status == "pending_signup":
        row.status, row.activated_at = "active", utcnow()
        session.flush()
        _event(session, "partner.activated", row)
    return row


def end(session: Session, psub_id: str, reason: str) -> PartnerSubscription:
    row = _locked(session, psub_id)
    if row.status in LIVE:
        row.status, row.ended_at, row.end_reason = "ended", utcnow(), reason
        session.flush()
        _event(session, "partner.ended", row)
    return row


def fail(session: Session, psub_id: str, reason: str) -> PartnerSubscription:
    row = _locked(session, psub_id)
    if row.status == "pending_signup":
        row.status, row.ended_at, row.end_reason = "failed", utcnow(), reason
        session.flush()
        _event(session, "partner.failed", row)
    return row


def set_plan(
    session: Session, psub_id: str, spec: PartnerServiceSpec, service_id: str
) -> PartnerSubscription:
    row = _locked(session, psub_id)
    row.partner_plan, row.allowance_minor = spec.partner_plan, spec.allowance_minor
    row.currency, row.included_in_price, row.service_id = spec.currency, spec.included_in_price, service_id
    return row


def live_memberships(
    session: Session, subscription_id: str, service_id: str | None = None
) -> list[PartnerSubscription]:
    stmt = select(PartnerSubscription).where(
        PartnerSubscription.subscription_id == subscription_id, PartnerSubscription.status.in_(LIVE)
    )
    if service_id is not None:
        stmt = stmt.where(PartnerSubscription.service_id == service_id)
    return list(session.execute(stmt.order_by(PartnerSubscription.id)).scalars())


def load(session: Session, psub_id: str) -> PartnerSubscription:
    row = session.get(PartnerSubscription, psub_id)
    if row is None:
        raise NotFound("partner_subscription", psub_id)
    return row


def state(row: PartnerSubscription, valid_for_seconds: int = 0) -> MembershipState:
    return MembershipState(
        partner_subscription_id=row.id,
        organisation_id=row.organisation_id,
        account_id=row.account_id,
        subscription_id=row.subscription_id,
        provider=row.provider,
        status=row.status,
        signup_url=row.signup_url,
        valid_for_seconds=valid_for_seconds,
        reason=row.end_reason,
    )


def membership_json(row: PartnerSubscription) -> dict[str, object]:
    """The membership as the API and the events show it."""
    return {
        "id": row.id,
        "object": "partner_subscription",
        "account_id": row.account_id,
        "subscription_id": row.subscription_id,
        "service_id": row.service_id,
        "provider": row.provider,
        "partner_plan": row.partner_plan,
        "partner_customer_id": row.partner_customer_id,
        "status": row.status,
        "channel": row.channel,
        "signup_url": row.signup_url if row.status == "pending_signup" else None,
        "signup_expires_at": row.signup_expires_at.isoformat() if row.signup_expires_at else None,
        "allowance_minor": row.allowance_minor,
        "currency": row.currency,
        "included_in_price": row.included_in_price,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "activated_at": row.activated_at.isoformat() if row.activated_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "end_reason": row.end_reason,
    }


def _visible(principal: Principal) -> Any:
    """Memberships of the accounts the principal sees: the operator's staff all of the operator's, a
    partner's or outlet's staff those of its own customers (the account's organisation in its subtree)."""
    return (
        select(PartnerSubscription)
        .join(Account, Account.id == PartnerSubscription.account_id)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(
            PartnerSubscription.organisation_id == operator_of(principal),
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
    )


def list_memberships(
    session: Session, principal: Principal, *, account_id: str | None, after: str | None, limit: int
) -> list[PartnerSubscription]:
    stmt = _visible(principal)
    if account_id:
        stmt = stmt.where(PartnerSubscription.account_id == account_id)
    if after:
        stmt = stmt.where(PartnerSubscription.id > after)
    return list(session.execute(stmt.order_by(PartnerSubscription.id).limit(limit)).scalars())


def find_membership(session: Session, principal: Principal, psub_id: str) -> PartnerSubscription:
    row = session.execute(_visible(principal).where(PartnerSubscription.id == psub_id)).scalar_one_or_none()
    if row is None:
        raise NotFound("partner_subscription", psub_id)
    return row


def _locked(session: Session, psub_id: str) -> PartnerSubscription:
    row = session.get(PartnerSubscription, psub_id, with_for_update=True)
    if row is None:
        raise NotFound("partner_subscription", psub_id)
    return row


def _event(session: Session, kind: str, row: PartnerSubscription) -> None:
    data = membership_json(row)
    if kind == "partner.signup_link":  # what the notification templates show: ``{{ data.url }}``
        data["url"] = row.signup_url
    record(session, BusinessEvent(kind, row.organisation_id, "partner_subscription", row.id, data))

"""Shared steps of the subscription activities: plan terms, services as provisioning knows them, history
events, pending charges, locks."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.catalog import records as catalog
from activities.subscriptions.io import ServiceRef
from domain.catalog import PlanSpec
from domain.errors import Conflict, NotFound
from domain.ids import new_id
from domain.memo import Memo
from domain.money import RoundingMode
from domain.subscriptions import ChargeLine, ServiceTerms
from models.accounts import Account
from models.base import core
from models.catalog import PlanVersion
from models.organisations import Organisation
from models.subscriptions import PendingCharge, Subscription, SubscriptionEvent, SubscriptionService


def organisation(session: Session, organisation_id: str) -> Organisation | None:
    """``session.get``, the row then held for the rest of the session: the identity map keeps only weak
    references, so a row no one holds any more was read again by the next ``get`` (an onboarding's first
    step read its operator three times)."""
    held: dict[str, Organisation] = session.info.setdefault("held_organisations", {})
    org = held.get(organisation_id)
    if org is None:
        org = session.get(Organisation, organisation_id)
        if org is not None:
            held[organisation_id] = org
    return org


def operator_id(session: Session, organisation_id: str) -> str:
    """The root operator whose catalogue an organisation sells from."""
    org = organisation(session, organisation_id)
    if org is None:
        raise NotFound("organisation", organisation_id)
    return org.path.strip("/").split("/")[0]


_SPECS: Memo[tuple[str, str, int], PlanSpec] = Memo(4096)


def plan_spec(session: Session, operator: str, code: str, version: int) -> PlanSpec:
    """Version ``version`` of the operator's plan ``code``, parsed. A saved version never changes (a new
    price is a new version) and PlanSpec is frozen, so each is read and parsed once per process: a
    subscription's read no longer costs a query and a parse per service."""
    key = (operator, code, version)
    spec = _SPECS.get(key)
    if spec is not None:
        return spec
    row = session.execute(
        select(PlanVersion).where(
            PlanVersion.organisation_id == operator, PlanVersion.code == code, PlanVersion.version == version
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("plan", f"{code} v{version}")
    return _SPECS.put(key, PlanSpec.model_validate(row.spec))


def terms_of(session: Session, sub: Subscription, service: SubscriptionService) -> ServiceTerms:
    operator = operator_id(session, sub.organisation_id)
    org = organisation(session, operator)
    rounding = RoundingMode(org.rounding_mode) if org else RoundingMode.HALF_UP
    return ServiceTerms(
        plan=plan_spec(session, operator, service.plan_code, service.plan_version),
        started_on=service.started_on,
        quantity=service.quantity,
        currency=sub.currency,
        bill_day=sub.bill_day,
        subscription_start=sub.start_date,
        rounding=rounding,
    )


def characteristics(session: Session, operator: str, code: str) -> tuple[str, dict[str, Any]]:
    """A product's kind and its characteristics by name."""
    product = catalog.product(session, operator, code)
    attrs = {c["name"]: c["value"] for c in product.spec.get("characteristics", [])}
    return product.kind, attrs


def service_refs(rows: list[SubscriptionService], session: Session, operator: str) -> list[ServiceRef]:
    """Services as provisioning knows them (by line id), with their product's characteristics."""
    refs = []
    for row in rows:
        spec = plan_spec(session, operator, row.plan_code, row.plan_version)
        _, attrs = characteristics(session, operator, spec.product_code)
        refs.append(
            ServiceRef(
                service_id=row.line_id,
                plan_code=row.plan_code,
                product_kind=row.product_kind,
                characteristics=attrs,
                device_product=spec.device.product_code if spec.device else None,
                access_hours=spec.access_hours,
            )
        )
    return refs


def load(session: Session, subscription_id: str, *, lock: bool = False) -> Subscription:
    stmt = select(Subscription).where(Subscription.id == subscription_id)
    if lock:
        stmt = stmt.with_for_update()
    sub = session.execute(stmt).scalar_one_or_none()
    if sub is None:
        raise NotFound("subscription", subscription_id)
    return sub


def holder(session: Session, subscription_id: str) -> tuple[Subscription, Account]:
    """The subscription and its account holder's account."""
    sub = load(session, subscription_id)
    account = session.get(Account, sub.account_id)
    assert account is not None
    return sub, account


def services(
    session: Session, subscription_id: str, statuses: tuple[str, ...] | None = None
) -> list[SubscriptionService]:
    stmt = select(SubscriptionService).where(SubscriptionService.subscription_id == subscription_id)
    if statuses:
        stmt = stmt.where(SubscriptionService.status.in_(statuses))
    return list(session.execute(stmt.order_by(SubscriptionService.id)).scalars())


# Written on the hot paths of every process (Core statements: see models.base.core).
_EVENTS = core(SubscriptionEvent)
_CHARGES = core(PendingCharge)


def record_event(
    session: Session,
    sub_id: str,
    kind: str,
    actor: str,
    key: str,
    *,
    reason: str | None = None,
    service_id: str | None = None,
    effective_on: date | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append to the history once per key (a retried activity does not write it twice)."""
    session.execute(
        insert(_EVENTS)
        .values(
            subscription_id=sub_id,
            service_id=service_id,
            kind=kind,
            actor=actor,
            reason=reason,
            effective_on=effective_on,
            data=data or {},
            idempotency_key=key,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )


def record_charges(
    session: Session, sub: Subscription, service_id: str | None, lines: list[ChargeLine], key_prefix: str
) -> int:
    """Pending charges for the bill run, once per key; returns how many were new."""
    added = 0
    for index, line in enumerate(lines):
        result = session.execute(
            insert(_CHARGES)
            .values(
                id=new_id("chg"),
                account_id=sub.account_id,
                subscription_id=sub.id,
                service_id=service_id,
                kind=line.kind,
                description=line.description[:300],
                period_start=line.period.start if line.period else None,
                period_end=line.period.end if line.period else None,
                quantity=str(line.quantity),
                unit_price=str(line.unit_price),
                amount_minor=line.amount.amount_minor,
                currency=line.amount.currency,
                tax_category=line.tax_category,
                status="pending",
                idempotency_key=f"{key_prefix}:{service_id or '-'}:{line.kind}:{index}",
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(_CHARGES.c.id)
        ).first()
        added += 1 if result else 0
    return added


def acquire(session: Session, subscription_id: str, process_id: str) -> None:
    """Make ``process_id`` the one process changing the subscription, or 409 naming the running one."""
    taken = session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id)
        .where((Subscription.active_process_id.is_(None)) | (Subscription.active_process_id == process_id))
        .values(active_process_id=process_id)
        .returning(Subscription.id)
    ).first()
    if taken is None:
        running = session.execute(
            select(Subscription.active_process_id).where(Subscription.id == subscription_id)
        ).scalar_one_or_none()
        raise Conflict(
            "subscription_busy",
            f"{subscription_id} is being changed by process {running}; retry when it has finished",
        )


def release(session: Session, subscription_id: str, process_id: str) -> None:
    session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.active_process_id == process_id)
        .values(active_process_id=None)
    )


def visible(session: Session, principal: Any, subscription_id: str, *, lock: bool = False) -> Subscription:
    """A subscription in the caller's subtree (404 otherwise, also for another organisation's)."""
    stmt = (
        select(Subscription)
        .join(Organisation, Organisation.id == Subscription.organisation_id)
        .where(
            Subscription.id == subscription_id,
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
    )
    if lock:
        stmt = stmt.with_for_update(of=Subscription)
    sub = session.execute(stmt).scalar_one_or_none()
    if sub is None:
        raise NotFound("subscription", subscription_id)
    return sub

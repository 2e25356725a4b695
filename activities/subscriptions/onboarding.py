"""Onboarding: validate an order against the catalogue, create the subscription, activate or fail it
(each step one transaction, in the caller's unit of work)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.catalog import records as catalog
from activities.events.outbox import record
from activities.provisioning.port_in import PORT_IN, PortInRequest, checked_port_in, with_port_ins
from activities.subscriptions import records as store
from activities.subscriptions.events import subscription_event
from activities.subscriptions.io import (
    CreatedSubscription,
    FailInput,
    OnboardingInput,
    ServiceOrder,
    SubscriptionRef,
)
from domain.catalog import Code, PlanSpec
from domain.errors import RuleViolation
from domain.principal import Principal
from domain.subscriptions import activation_charges, next_status
from models.subscriptions import PendingCharge, Subscription, SubscriptionService

MAX_FUTURE_DAYS = 366


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: Code
    quantity: int = Field(default=1, ge=1, le=1000)
    addons: list[Code] = Field(default_factory=list, max_length=20)
    port_in: PortInRequest | None = Field(
        default=None, description="a mobile plan only: port this number in instead of the SIM's own"
    )


class SubscriptionOrder(BaseModel):
    """What a subscriber buys: base plans (each with add-ons), optionally as a bundle, from a date."""

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(max_length=40)
    items: list[OrderItem] = Field(min_length=1, max_length=10)
    bundle: Code | None = None
    start_date: date | None = Field(
        default=None, description="Local date; in the past to migrate subscribers"
    )
    bill_day: int | None = Field(default=None, ge=1, le=31, description="Default: the start day")


def local_today(timezone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()


def _service(
    session: Session,
    operator: str,
    code: str,
    on: date,
    qty: int,
    role: str,
    bundle: str | None,
    currency: str,
) -> tuple[ServiceOrder, PlanSpec]:
    version = catalog.plan_on(session, operator, code, on)
    spec = PlanSpec.model_validate(version.spec)
    if spec.role != role:
        raise RuleViolation(
            "invalid_plan_role",
            f"plan {code} is a{'n' if spec.role == 'addon' else ''} "
            f"{spec.role} plan and cannot be sold as {role}",
            field="items",
        )
    if not spec.priced_in(currency):
        raise RuleViolation("currency_not_priced", f"plan {code} is not priced in {currency}", field="items")
    kind, attrs = store.characteristics(session, operator, spec.product_code)
    order = ServiceOrder(
        plan_code=code,
        plan_version=version.version,
        product_kind=kind,
        role=spec.role,
        quantity=qty,
        bundle_code=bundle,
        characteristics=attrs,
    )
    return order, spec


def _addons(
    session: Session, operator: str, base: PlanSpec, item: OrderItem, on: date, currency: str
) -> list[ServiceOrder]:
    rules = {r.plan_code: r.rule for r in base.addons}
    missing = [code for code, rule in rules.items() if rule == "required" and code not in item.addons]
    if missing:
        raise RuleViolation("addon_required", f"plan {base.code} requires add-on {missing[0]}", field="items")
    orders = []
    for code in item.addons:
        if code not in rules:
            raise RuleViolation(
                "addon_not_allowed", f"add-on {code} is not allowed on plan {base.code}", field="items"
            )
        orders.append(_service(session, operator, code, on, item.quantity, "addon", None, currency)[0])
    return orders


def prepare_onboarding(
    session: Session,
    principal: Principal,
    order: SubscriptionOrder,
    *,
    subscription_id: str,
    process_id: str,
    request_id: str,
) -> OnboardingInput:
    """Check an order against the catalogue and the account (4xx on any problem) and plan the services."""
    account = visible_account(session, principal, order.account_id)
    if account.status != "active":
        raise RuleViolation("account_closed", f"{account.id} is closed", field="account_id")
    start = order.start_date or local_today(account.timezone)
    if start > local_today(account.timezone) + timedelta(days=MAX_FUTURE_DAYS):
        raise RuleViolation(
            "start_too_far", f"a subscription starts within {MAX_FUTURE_DAYS} days", field="start_date"
        )
    operator = store.operator_id(session, account.organisation_id)
    bundle_plans: list[str] = []
    if order.bundle:
        bundle_plans = catalog.bundle(session, operator, order.bundle).plan_codes
    services: list[ServiceOrder] = []
    specs: list[PlanSpec] = []
    for position, item in enumerate(order.items):
        if order.bundle and item.plan not in bundle_plans:
            raise RuleViolation(
                "not_in_bundle", f"plan {item.plan} is not part of bundle {order.bundle}", field="items"
            )
        base, spec = _service(
            session, operator, item.plan, start, item.quantity, "base", order.bundle, account.currency
        )
        if item.port_in is not None:
            port = checked_port_in(
                session, item.port_in, operator_id=operator, product_kind=base.product_kind,
                plan=item.plan, start=start, today=local_today(account.timezone),
                field=f"items[{position}].port_in",
            )  # fmt: skip
            base = base.model_copy(update={"characteristics": {**base.characteristics, PORT_IN: port}})
        services.append(base)
        specs.append(spec)
        services += _addons(session, operator, spec, item, start, account.currency)
    terms = {spec.billing_term for spec in specs}
    if len(terms) > 1:
        raise RuleViolation(
            "mixed_billing_terms", "all plans of a subscription share one billing term", field="items"
        )
    invoice_now = specs[0].billing_term.value == "in_advance" and any(s.invoice_on_activation for s in specs)
    return OnboardingInput(
        operator_id=operator,
        invoice_now=invoice_now,
        subscription_id=subscription_id,
        process_id=process_id,
        organisation_id=account.organisation_id,
        account_id=account.id,
        request_id=request_id,
        actor=principal.key_id,
        currency=account.currency,
        timezone=account.timezone,
        bill_day=order.bill_day or start.day,
        billing_term=specs[0].billing_term.value,
        start_date=start,
        cooling_off_days=max(spec.cooling_off_days for spec in specs),
        email=account.email,
        display_name=account.display_name,
        language=account.language,
        services=services,
    )


def create(session: Session, order: OnboardingInput) -> CreatedSubscription:
    """The subscription (draft) and its services (pending); a retry finds what the first try made."""
    return _create(session, order)[0]


def _create(
    session: Session, order: OnboardingInput
) -> tuple[CreatedSubscription, Subscription, list[SubscriptionService]]:
    sub = session.get(Subscription, order.subscription_id)
    if sub is None:
        sub = Subscription(
            id=order.subscription_id,
            organisation_id=order.organisation_id,
            account_id=order.account_id,
            request_id=order.request_id,
            status="draft",
            currency=order.currency,
            timezone=order.timezone,
            bill_day=order.bill_day,
            billing_term=order.billing_term,
            start_date=order.start_date,
            cooling_off_until=order.start_date + timedelta(days=order.cooling_off_days),
            active_process_id=order.process_id,
            version=1,
        )
        session.add(sub)
        session.flush()
        for index, item in enumerate(order.services):
            service_id = f"svc_{order.subscription_id[4:]}{index:02d}"
            session.add(
                SubscriptionService(
                    id=service_id,
                    line_id=service_id,
                    subscription_id=sub.id,
                    plan_code=item.plan_code,
                    plan_version=item.plan_version,
                    product_kind=item.product_kind,
                    role=item.role,
                    quantity=item.quantity,
                    bundle_code=item.bundle_code,
                    status="pending",
                    started_on=order.start_date,
                )
            )
        store.record_event(
            session,
            sub.id,
            "created",
            order.actor,
            f"{order.process_id}:created",
            effective_on=order.start_date,
        )
    rows = store.services(session, sub.id)
    refs = store.service_refs(rows, session, store.operator_id(session, sub.organisation_id))
    refs = with_port_ins(order, refs)  # a number ported in rides on the service's activation order
    return CreatedSubscription(subscription_id=sub.id, status=sub.status, services=refs), sub, rows


def open_subscription(session: Session, order: OnboardingInput) -> CreatedSubscription:
    """:func:`create`, then :func:`add_activation_charges`, in one transaction: Onboarding's first step
    since its ``onboarding-one-opening-step`` patch (one local activity and one commit fewer). Either
    both are written or neither; a retry finds what a committed try made, each part once per process."""
    created, sub, services = _create(session, order)
    _charge_activation(session, sub, services, order.process_id)
    return created


def add_activation_charges(session: Session, ref: SubscriptionRef) -> int:
    """One-off fees and devices sold with the plans, as pending charges (once per process)."""
    sub = store.load(session, ref.subscription_id)
    return _charge_activation(session, sub, store.services(session, sub.id), ref.process_id)


def _charge_activation(
    session: Session, sub: Subscription, services: list[SubscriptionService], process_id: str
) -> int:
    added = 0
    for service in services:
        lines = activation_charges(store.terms_of(session, sub, service))
        added += store.record_charges(session, sub, service.id, lines, f"{process_id}:activation")
    return added


def activate(session: Session, ref: SubscriptionRef) -> str:
    """Activate a draft subscription and its pending services, and release it; its status."""
    sub = store.load(session, ref.subscription_id, lock=True)
    if sub.status == "draft":
        sub.status = next_status("activate", sub.status, sub.id)
        if sub.active_process_id == ref.process_id:  # released in the same write (the row is locked)
            sub.active_process_id = None
        for service in store.services(session, sub.id, ("pending",)):
            service.status = "active"
        store.record_event(
            session,
            sub.id,
            "activated",
            ref.actor,
            f"{ref.process_id}:activated",
            effective_on=sub.start_date,
        )
        record(session, subscription_event("subscription.activated", session, sub))
    else:  # a retry after the activation committed, or another path: release it if this process holds it
        store.release(session, sub.id, ref.process_id)
    return sub.status


def fail(session: Session, failure: FailInput) -> str:
    """Compensation's last step: void the pending charges, mark it failed with the reason."""
    sub = store.load(session, failure.subscription_id, lock=True)
    if sub.status == "draft":
        sub.status, sub.failure_reason = "failed", failure.reason[:2000]
        for service in store.services(session, sub.id):
            service.status = "failed"
        for charge in session.query(PendingCharge).filter_by(subscription_id=sub.id, status="pending"):
            charge.status = "void"
        store.record_event(
            session,
            sub.id,
            "failed",
            failure.actor,
            f"{failure.process_id}:failed",
            reason=failure.reason[:2000],
        )
    store.release(session, sub.id, failure.process_id)
    return sub.status

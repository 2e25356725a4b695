"""The body of each subscription change, run inside the caller's transaction (see apply_change)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.billing.extras import discount_of
from activities.catalog import records as catalog
from activities.events.outbox import record
from activities.subscriptions import records as store
from activities.subscriptions.change_credits import charge_rest, credit_billed, credit_unused
from activities.subscriptions.events import EVENT_OF_ACTION, subscription_event
from activities.subscriptions.io import Applied, ChangePlan, ServiceRef
from domain.catalog import PlanSpec
from domain.ids import new_id
from domain.subscriptions import ChargeLine, activation_charges, next_status, start_charge
from models.subscriptions import PendingCharge, Subscription, SubscriptionEvent, SubscriptionService


def apply(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    """Apply ``plan`` once: a retry (same process) returns what the first run applied."""
    done = session.execute(
        select(SubscriptionEvent).where(SubscriptionEvent.idempotency_key == f"{plan.process_id}:applied")
    ).scalar_one_or_none()
    if done is not None:
        return Applied.model_validate(done.data["applied"])
    applied = HANDLERS[plan.action](session, sub, plan)
    sub.version += 1
    store.record_event(
        session,
        sub.id,
        plan.action,
        plan.actor,
        f"{plan.process_id}:applied",
        reason=plan.reason,
        service_id=plan.service_id,
        effective_on=plan.effective_on,
        data={
            "applied": applied.model_dump(mode="json"),
            "plan": plan.plan_code,
            "pause_billing": plan.pause_billing,
        },
    )
    event = subscription_event(EVENT_OF_ACTION[plan.action], session, sub)
    record(session, replace(event, data={**event.data, "action": plan.action, "reason": plan.reason}))
    return applied


def _refs(session: Session, sub: Subscription, rows: list[SubscriptionService]) -> list[ServiceRef]:
    return store.service_refs(rows, session, store.operator_id(session, sub.organisation_id))


def _new_service(
    sub: Subscription,
    like: SubscriptionService | None,
    plan: ChangePlan,
    kind: str,
    role: str,
    line_id: str | None = None,
) -> SubscriptionService:
    service_id = new_id("svc")
    return SubscriptionService(
        id=service_id,
        line_id=line_id or service_id,
        subscription_id=sub.id,
        plan_code=plan.plan_code or "",
        plan_version=plan.plan_version or 1,
        product_kind=kind,
        role=role,
        quantity=like.quantity if like else 1,
        bundle_code=like.bundle_code if like else None,
        status="active",
        started_on=plan.effective_on,
    )


def _end(
    session: Session,
    sub: Subscription,
    service: SubscriptionService,
    plan: ChangePlan,
    why: str,
    credit: bool = True,
) -> None:
    if credit:
        lines = credit_unused(session, sub, service, plan.effective_on, why)
        store.record_charges(session, sub, service.id, lines, f"{plan.process_id}:end")
    service.status, service.ended_on = "terminated", max(plan.effective_on, service.started_on)


def _kind_of(session: Session, sub: Subscription, plan_code: str, version: int) -> tuple[str, PlanSpec]:
    operator = store.operator_id(session, sub.organisation_id)
    spec = store.plan_spec(session, operator, plan_code, version)
    return catalog.product(session, operator, spec.product_code).kind, spec


def change_plan(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    old = next(s for s in store.services(session, sub.id, ("active",)) if s.id == plan.service_id)
    kind, new_spec = _kind_of(session, sub, plan.plan_code or "", plan.plan_version or 1)
    new = _new_service(sub, old, plan, kind, "base", line_id=old.line_id)
    old_terms = store.terms_of(session, sub, old)
    session.add(new)
    session.flush()
    renting = new_spec.device is not None and new_spec.device.mode == "rent"
    netted: list[ChargeLine] = []
    credit = credit_unused(session, sub, old, plan.effective_on, "plan change", not renting, netted)
    operator = store.operator_id(session, sub.organisation_id)
    if discount_of(session, operator, sub.id, old.id) != discount_of(session, operator, sub.id, new.id):
        netted = []  # netted by another discount: not part of the new service's
    charge = charge_rest(session, sub, new, plan.effective_on, "plan change", netted)
    lines = credit + ([charge] if charge else [])  # as change_charges, with the credit only if billed
    store.record_charges(session, sub, new.id, lines, f"{plan.process_id}:change")
    old.status, old.ended_on, old.replaced_by = "terminated", plan.effective_on, new.id
    provision = [("change", ref) for ref in _refs(session, sub, [new])]
    kept_rules = {r.plan_code for r in new_spec.addons}
    survivors = {r.plan_code for r in old_terms.plan.addons if r.survives_change}
    for addon in store.services(session, sub.id, ("active",)):
        if addon.role == "addon" and addon.plan_code not in kept_rules | survivors:
            _end(session, sub, addon, plan, "add-on dropped with the plan change")
            provision += [("terminate", ref) for ref in _refs(session, sub, [addon])]
    return Applied(subscription_id=sub.id, status=sub.status, provision=provision)


def add_addon(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    kind, _ = _kind_of(session, sub, plan.plan_code or "", plan.plan_version or 1)
    addon = _new_service(sub, None, plan, kind, "addon")
    session.add(addon)
    session.flush()
    terms = store.terms_of(session, sub, addon)
    charge = start_charge(terms, plan.effective_on, "add-on added")
    lines = activation_charges(terms) + ([charge] if charge else [])
    store.record_charges(session, sub, addon.id, lines, f"{plan.process_id}:addon")
    return Applied(
        subscription_id=sub.id,
        status=sub.status,
        provision=[("activate", ref) for ref in _refs(session, sub, [addon])],
    )


def remove_addon(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    addon = next(
        s for s in store.services(session, sub.id, ("active", "suspended")) if s.id == plan.service_id
    )
    _end(session, sub, addon, plan, "add-on removed")
    return Applied(
        subscription_id=sub.id,
        status=sub.status,
        provision=[("terminate", ref) for ref in _refs(session, sub, [addon])],
    )


def suspend(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    sub.status = next_status("suspend", sub.status, sub.id)
    live = store.services(session, sub.id, ("active",))
    for service in live:
        service.status = "suspended"
        if plan.pause_billing:
            lines = credit_unused(session, sub, service, plan.effective_on, "billing paused", rental=False)
            store.record_charges(session, sub, service.id, lines, f"{plan.process_id}:pause")
    return Applied(
        subscription_id=sub.id,
        status=sub.status,
        provision=[("suspend", ref) for ref in _refs(session, sub, live)],
    )


def _billing_was_paused(session: Session, sub: Subscription) -> bool:
    last = session.execute(
        select(SubscriptionEvent)
        .where(SubscriptionEvent.subscription_id == sub.id, SubscriptionEvent.kind == "suspend")
        .order_by(SubscriptionEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return bool(last and last.data.get("pause_billing"))


def resume(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    sub.status = next_status("resume", sub.status, sub.id)
    paused = _billing_was_paused(session, sub)
    held = store.services(session, sub.id, ("suspended",))
    for service in held:
        service.status = "active"
        if paused:
            line = charge_rest(session, sub, service, plan.effective_on, "billing resumed", [])
            store.record_charges(
                session, sub, service.id, [line] if line else [], f"{plan.process_id}:resume"
            )
    return Applied(
        subscription_id=sub.id,
        status=sub.status,
        provision=[("resume", ref) for ref in _refs(session, sub, held)],
    )


def terminate(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    sub.status = next_status("terminate", sub.status, sub.id)
    sub.end_date = plan.effective_on
    live = store.services(session, sub.id, ("active", "suspended"))
    paused = sub.status == "suspended" and _billing_was_paused(session, sub)
    for service in live:
        _end(session, sub, service, plan, "terminated", credit=not paused)
    return Applied(
        subscription_id=sub.id,
        status=sub.status,
        provision=[("terminate", ref) for ref in _refs(session, sub, live)],
    )


def regret(session: Session, sub: Subscription, plan: ChangePlan) -> Applied:
    """Cancelled in the cooling-off period: nothing is owed, whatever was billed is refunded in full."""
    sub.status = next_status("regret", sub.status, sub.id)
    sub.end_date = plan.effective_on
    live = store.services(session, sub.id, ("active", "suspended"))
    for service in live:
        service.status, service.ended_on = "terminated", max(plan.effective_on, service.started_on)
    charges = session.execute(select(PendingCharge).where(PendingCharge.subscription_id == sub.id)).scalars()
    for charge in charges:
        if charge.status == "pending":
            charge.status = "void"
    credit_billed(session, sub, plan)
    return Applied(
        subscription_id=sub.id,
        status=sub.status,
        provision=[("terminate", ref) for ref in _refs(session, sub, live)],
    )


HANDLERS: dict[str, Callable[[Session, Subscription, ChangePlan], Applied]] = {
    "change_plan": change_plan,
    "add_addon": add_addon,
    "remove_addon": remove_addon,
    "suspend": suspend,
    "resume": resume,
    "terminate": terminate,
    "regret": regret,
}

"""Plan changes, suspension, resumption, termination and regret: checking a request (prepare_*), taking
the subscription for it, and scheduling it for later. change_steps.py applies them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.catalog import records as catalog
from activities.subscriptions import records as store
from activities.subscriptions.io import ChangePlan, Scheduled, Timing
from activities.subscriptions.onboarding import local_today
from domain.catalog import Code, PlanSpec
from domain.errors import Conflict, RuleViolation
from domain.ids import new_id
from domain.periods import local_midnight
from domain.subscriptions import ServiceTerms, next_status, period_on, price_on
from models.subscriptions import ScheduledChange, Subscription, SubscriptionService


class ChangeRequest(BaseModel):
    """POST /v1/subscriptions/{id}/changes: another base plan, or an add-on added or removed."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["change_plan", "add_addon", "remove_addon"]
    plan: Code | None = Field(default=None, description="The new base plan, or the add-on to add")
    service_id: str | None = Field(
        default=None, description="The service to change or remove (default: the base)"
    )
    timing: Timing | None = Field(default=None, description="Default: upgrades at once, downgrades per plan")
    effective_date: date | None = Field(
        default=None, description="For immediate changes; default today (local)"
    )


class ActionRequest(BaseModel):
    """POST /v1/subscriptions/{id}/suspend|resume|terminate|regret."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)
    effective_date: date | None = None
    timing: Timing = "immediate"
    pause_billing: bool = Field(default=False, description="Suspend: credit the unused days of the period")


def _base_service(session: Session, sub: Subscription, service_id: str | None) -> SubscriptionService:
    live = store.services(session, sub.id, ("active", "suspended"))
    if service_id:
        found = [s for s in live if service_id in (s.id, s.line_id)]
        if not found:
            raise RuleViolation(
                "service_not_found", f"{sub.id} has no live service {service_id}", field="service_id"
            )
        return found[0]
    bases = [s for s in live if s.role == "base"]
    if len(bases) != 1:
        raise RuleViolation(
            "service_required", f"{sub.id} has {len(bases)} base services: name one", field="service_id"
        )
    return bases[0]


def _resolve_timing(request: ChangeRequest, old: ServiceTerms, new: PlanSpec, on: date) -> Timing:
    if request.timing:
        return request.timing
    new_price = price_on(
        ServiceTerms(new, on, old.quantity, old.currency, old.bill_day, old.subscription_start), on
    )
    if new_price.amount_minor >= price_on(old, on).amount_minor:
        return "immediate"
    return old.plan.change_policy


def run_at(sub: Subscription, day: date) -> datetime:
    """The instant a change dated ``day`` happens: local midnight in the subscription's time zone."""
    return local_midnight(day, sub.timezone).astimezone(UTC)


def prepare_change(
    session: Session, sub: Subscription, request: ChangeRequest, process_id: str, actor: str
) -> ChangePlan:
    """Check a requested change (4xx on any problem) and resolve its plan version, timing and date."""
    if sub.status != "active":
        raise Conflict("invalid_state", f"{sub.id} is {sub.status}; only active subscriptions change plans")
    today = local_today(sub.timezone)
    on = request.effective_date or today
    if on < sub.start_date:
        raise RuleViolation(
            "date_before_start", f"{on} is before {sub.id} started ({sub.start_date})", field="effective_date"
        )
    operator = store.operator_id(session, sub.organisation_id)
    plan_code, version, service_id, timing = None, None, request.service_id, request.timing or "immediate"
    if request.type in ("change_plan", "add_addon"):
        if not request.plan:
            raise RuleViolation("plan_required", f"{request.type} needs a plan", field="plan")
        row = catalog.plan_on(session, operator, request.plan, on)
        spec = PlanSpec.model_validate(row.spec)
        if not spec.priced_in(sub.currency):
            raise RuleViolation(
                "currency_not_priced", f"plan {request.plan} is not priced in {sub.currency}", field="plan"
            )
        plan_code, version = row.code, row.version
        base = _base_service(session, sub, request.service_id if request.type == "change_plan" else None)
        base_terms = store.terms_of(session, sub, base)
        if base.started_on > on:
            raise RuleViolation(
                "date_before_start", f"{on} is before the service started", field="effective_date"
            )
        if request.type == "change_plan":
            if spec.role != "base" or row.code == base.plan_code:
                raise RuleViolation("invalid_plan", f"{request.plan} is not another base plan", field="plan")
            timing, service_id = _resolve_timing(request, base_terms, spec, on), base.id
        else:
            allowed = {r.plan_code for r in base_terms.plan.addons}
            if row.code not in allowed or spec.role != "addon":
                raise RuleViolation(
                    "addon_not_allowed",
                    f"add-on {request.plan} is not allowed on {base.plan_code}",
                    field="plan",
                )
        if timing == "end_of_term":
            on = period_on(base_terms, on).end
    else:
        service = _base_service(session, sub, request.service_id)
        if service.role != "addon":
            raise RuleViolation(
                "not_an_addon", f"{service.id} is a base service; terminate instead", field="service_id"
            )
        service_id = service.id
    return ChangePlan(
        subscription_id=sub.id,
        process_id=process_id,
        actor=actor,
        action=request.type,
        service_id=service_id,
        plan_code=plan_code,
        plan_version=version,
        timing=timing,
        effective_on=on,
        run_at=run_at(sub, on),
    )


def prepare_action(
    session: Session, sub: Subscription, action: str, request: ActionRequest, process_id: str, actor: str
) -> ChangePlan:
    target = next_status(action, sub.status, sub.id)
    today = local_today(sub.timezone)
    on = request.effective_date or today
    if on < sub.start_date:
        raise RuleViolation("date_before_start", f"{on} is before {sub.id} started", field="effective_date")
    if action == "regret" and (sub.cooling_off_until is None or today > sub.cooling_off_until):
        raise Conflict(
            "cooling_off_over", f"the cooling-off period of {sub.id} ended on {sub.cooling_off_until}"
        )
    timing = request.timing if action == "terminate" else "immediate"
    if timing == "end_of_term":
        base = _base_service(session, sub, None)
        on = period_on(store.terms_of(session, sub, base), on).end
    del target
    return ChangePlan(
        subscription_id=sub.id,
        process_id=process_id,
        actor=actor,
        action=action,
        timing=timing,
        effective_on=on,
        run_at=run_at(sub, on),
        reason=request.reason,
        pause_billing=request.pause_billing,
    )


def take_for_action(
    session: Session, sub: Subscription, action: str, request: ActionRequest, process_id: str, actor: str
) -> ChangePlan | None:
    """Plan ``action`` on ``sub`` and take the subscription for it; None when it can't apply now (already in
    that state, or another process holds it): automatic processes skip it rather than fight."""
    try:
        plan = prepare_action(session, sub, action, request, process_id, actor)
        with session.begin_nested():
            store.acquire(session, sub.id, process_id)
    except (Conflict, RuleViolation):
        return None
    return plan


def schedule(session: Session, plan: ChangePlan) -> Scheduled:
    """Record the change for later (once per process) and release the subscription."""
    existing = session.execute(
        select(ScheduledChange).where(ScheduledChange.process_id == plan.process_id)
    ).scalar_one_or_none()
    if existing is None:
        existing = ScheduledChange(
            id=new_id("chs"),
            subscription_id=plan.subscription_id,
            kind=plan.action,
            effective_on=plan.effective_on,
            status="pending",
            process_id=plan.process_id,
            data=plan.model_dump(mode="json"),
        )
        session.add(existing)
        store.record_event(
            session,
            plan.subscription_id,
            "change_scheduled",
            plan.actor,
            f"{plan.process_id}:scheduled",
            effective_on=plan.effective_on,
            data={"action": plan.action, "plan": plan.plan_code},
        )
    store.release(session, plan.subscription_id, plan.process_id)
    return Scheduled(change_id=existing.id, run_at=plan.run_at)


def close_scheduled(session: Session, process_id: str, status: str) -> None:
    """Set the status of the process's scheduled change, if it is still pending."""
    row = session.execute(
        select(ScheduledChange).where(ScheduledChange.process_id == process_id)
    ).scalar_one_or_none()
    if row is not None and row.status == "pending":
        row.status = status

"""Resync: make the provisioning platforms agree with the system of record, and report what changed.

What should be live: services ``active`` or ``suspended`` in the caller's subtree, keyed by
``line_id`` (the id orders carry). Each adapter that can report (an optional ``list_state()``)
says what it has; the gap is closed with orders (through ``provision_service``, so recorded and
idempotent, keyed ``resync:<request key>:<service>:<action>``):

* missing or inactive → ACTIVATE (then SUSPEND if the service is suspended);
* suspended here but not there → SUSPEND; active here but suspended there → RESUME;
* live there but ended here → TERMINATE; live there and unknown here → reported, never touched.

Orders reuse the plan, characteristics and device of the service's latest order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.provisioning.io import OrderInput, ResyncOrder, ResyncReport
from activities.provisioning.operator_tools import run_order
from domain.principal import Principal
from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import AdapterRegistry, ServiceState
from models.accounts import Account
from models.base import unit_of_work
from models.organisations import Organisation
from models.subscriptions import ProvisioningOrder, Subscription, SubscriptionService

LIVE = ("active", "suspended")


@dataclass
class Line:
    subscription_id: str
    account_id: str
    kind: str
    plan_code: str
    live: bool
    suspended: bool


def _lines(session: Session, principal: Principal, kinds: frozenset[str]) -> dict[str, Line]:
    stmt = (
        select(SubscriptionService, Subscription.account_id)
        .join(Subscription, Subscription.id == SubscriptionService.subscription_id)
        .join(Account, Account.id == Subscription.account_id)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
            SubscriptionService.product_kind.in_(sorted(kinds)),
        )
    )
    lines: dict[str, Line] = {}
    for svc, account_id in session.execute(stmt):
        live = svc.status in LIVE
        if live or svc.line_id not in lines:  # a live row (after a plan change) wins over ended ones
            lines[svc.line_id] = Line(
                svc.subscription_id,
                account_id,
                svc.product_kind,
                svc.plan_code,
                live,
                svc.status == "suspended",
            )
    return lines


def _latest_request(session: Session, service_id: str) -> dict[str, Any]:
    row = session.execute(
        select(ProvisioningOrder.request)
        .where(ProvisioningOrder.service_id == service_id, ProvisioningOrder.action != "terminate")
        .order_by(ProvisioningOrder.created_at.desc())
        .limit(1)
    ).scalar()
    return dict(row or {})


def _actions(line: Line | None, state: ServiceState | None) -> list[ProvisioningAction] | None:
    """The orders that close the gap; None when the platform has a service we do not know."""
    if line is None:
        return None if state is not None and state.active else []
    if not line.live:
        return [ProvisioningAction.TERMINATE] if state is not None and state.active else []
    if state is None or not state.active:
        return [ProvisioningAction.ACTIVATE] + ([ProvisioningAction.SUSPEND] if line.suspended else [])
    if line.suspended != state.suspended:
        return [ProvisioningAction.SUSPEND if line.suspended else ProvisioningAction.RESUME]
    return []


def resync(database_url: str, registry: AdapterRegistry, principal: Principal, key: str) -> ResyncReport:
    """Ask every adapter that can list its services, and order what closes each gap (see the module)."""
    report = ResyncReport(adapters=[], checked=0, in_sync=0, orders=[], unknown=[], errors={})
    seen: set[str] = set()
    for kind in registry.kinds():
        for adapter in registry.for_kind(kind):
            list_state = getattr(adapter, "list_state", None)
            if adapter.name in seen or not callable(list_state):
                continue
            seen.add(adapter.name)
            report.adapters.append(adapter.name)
            try:
                states: dict[str, ServiceState] = {s.service_id: s for s in list_state()}
            except Exception as exc:
                report.errors[adapter.name] = f"{exc.__class__.__name__}: {exc}"
                continue
            _reconcile(database_url, registry, principal, key, adapter.name, adapter.kinds, states, report)
    return report


def _reconcile(
    database_url: str,
    registry: AdapterRegistry,
    principal: Principal,
    key: str,
    adapter: str,
    kinds: frozenset[str],
    states: dict[str, ServiceState],
    report: ResyncReport,
) -> None:
    with unit_of_work(database_url) as session:
        lines = _lines(session, principal, kinds)
        plan: list[tuple[str, Line, list[ProvisioningAction], dict[str, Any]]] = []
        for service_id in sorted(set(lines) | set(states)):
            line = lines.get(service_id)
            actions = _actions(line, states.get(service_id))
            if line is None or (not line.live and service_id not in states):
                if actions is None:
                    report.unknown.append(service_id)
                continue
            report.checked += 1
            if not actions:
                report.in_sync += 1
                continue
            assert actions is not None
            plan.append((service_id, line, actions, _latest_request(session, service_id)))
    for service_id, line, actions, last in plan:
        for action in actions:
            order = OrderInput(
                idempotency_key=f"resync:{key}:{service_id}:{action.value}",
                action=action,
                service_kind=line.kind,
                account_id=line.account_id,
                subscription_id=line.subscription_id,
                service_id=service_id,
                plan_code=last.get("plan_code") or line.plan_code,
                characteristics=last.get("characteristics") or {},
                device=last.get("device"),
            )
            outcome = run_order(database_url, registry, order)
            report.orders.append(
                ResyncOrder(
                    adapter=adapter,
                    service_id=service_id,
                    action=action,
                    order_id=outcome.order_id,
                    state=outcome.state,
                    detail=outcome.detail,
                )
            )
            if outcome.state == "failed":
                break

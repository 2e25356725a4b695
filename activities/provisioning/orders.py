"""Provisioning orders: one row per service and action, found again by its key, dispatched to the adapters
of its service kind.

A failed order stays in the database for an operator to list and re-run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from activities.events.outbox import record
from activities.events.snapshots import account_organisation
from activities.provisioning.io import OrderInput, OrderOutcome
from activities.provisioning.mobile_lines import after_line_order, with_sim_line
from domain.events import BusinessEvent
from domain.ids import new_id
from integrations.provisioning.base import AdapterRegistry, ProvisioningRequest, ProvisioningResult
from models.base import unit_of_work
from models.subscriptions import ProvisioningOrder, Subscription

HOST_REJECTED = "host_rejected"  # in an order's result: the platform called back a rejection (callbacks.py)


def record_order(database_url: str, order: OrderInput) -> ProvisioningOrder:
    """The order's row (written the first time), with one more attempt counted."""
    with unit_of_work(database_url) as session:
        row = session.execute(
            select(ProvisioningOrder).where(ProvisioningOrder.idempotency_key == order.idempotency_key)
        ).scalar_one_or_none()
        if row is None:
            row = ProvisioningOrder(
                id=new_id("prv"),
                subscription_id=order.subscription_id,
                service_id=order.service_id,
                service_kind=order.service_kind,
                action=order.action.value,
                state="pending",
                attempts=0,
                request=order.model_dump(mode="json"),
                result={},
                idempotency_key=order.idempotency_key,
            )
            session.add(row)
        row.attempts += 1
        session.flush()
        return row


def finish_order(
    database_url: str, order_id: str, state: str, adapters: list[str], results: dict[str, Any], error: str
) -> None:
    """Store where the order ended and what each adapter answered."""
    with unit_of_work(database_url) as session:
        row = session.get(ProvisioningOrder, order_id)
        assert row is not None
        if row.state == "done" and state == "failed":
            return  # the platform's callback completed it meanwhile (callbacks.py): done stays done
        failed_now = state == "failed" and row.state != "failed"
        row.state, row.adapter, row.result = state, ",".join(adapters) or None, results
        row.error = error or None
        if failed_now:
            record_failure(session, row)


def record_failure(session: Session, row: ProvisioningOrder) -> None:
    """``provisioning.failed`` about the subscription, when an order first ends failed."""
    sub = session.get(Subscription, row.subscription_id)
    assert sub is not None
    data = {
        "order_id": row.id,
        "subscription_id": row.subscription_id,
        "service_id": row.service_id,
        "service_kind": row.service_kind,
        "action": row.action,
        "state": row.state,
        "adapter": row.adapter,
        "error": row.error,
        "attempts": row.attempts,
    }
    org = account_organisation(session, sub.account_id)
    record(session, BusinessEvent("provisioning.failed", org, "subscription", sub.id, data))


def provision(
    database_url: str, registry: AdapterRegistry, order: OrderInput, *, rerun: bool = False
) -> OrderOutcome:
    """Carry out one order on every adapter of the service kind (none registered: skipped); a done order
    answers from its row without calling an adapter again. An adapter's refusal raises ``ProvisioningFailed``
    (retryable as the adapter says), after the order is stored as failed. An order the platform has called
    back rejected (while an earlier attempt waited) fails at once, unless an operator re-runs it."""
    row = record_order(database_url, order)
    if row.state in ("done", "skipped"):
        return OrderOutcome(order_id=row.id, state=row.state, adapters=(row.adapter or "").split(","))
    if row.state == "failed" and (row.result or {}).get(HOST_REJECTED) and not rerun:
        raise ApplicationError(
            f"{row.adapter} refused {order.action.value} of {order.service_id}: {row.error}",
            type="ProvisioningFailed",
            non_retryable=True,
        )
    adapters = registry.for_kind(order.service_kind)
    if not adapters:
        detail = f"no provisioning adapter serves {order.service_kind!r}"
        finish_order(database_url, row.id, "skipped", [], {}, detail)
        return OrderOutcome(order_id=row.id, state="skipped", adapters=[], detail=detail)
    sent = with_sim_line(database_url, order)  # a mobile line's SIM and number, from the warehouse
    request = ProvisioningRequest(order_id=row.id, rerun=rerun, **sent.model_dump())
    results: dict[str, Any] = {}
    for adapter in adapters:
        result = _execute(adapter.name, adapter.execute, request)
        results[adapter.name] = result.model_dump()
        if result.status == "failed":
            finish_order(database_url, row.id, "failed", [a.name for a in adapters], results, result.detail)
            raise ApplicationError(
                f"{adapter.name} refused {order.action.value} of {order.service_id}: {result.detail}",
                type="ProvisioningFailed",
                non_retryable=not result.retryable,
            )
    after_line_order(database_url, sent)  # before the order is done: a retry repeats it (idempotent)
    finish_order(database_url, row.id, "done", [a.name for a in adapters], results, "")
    return OrderOutcome(order_id=row.id, state="done", adapters=[a.name for a in adapters])


def _execute(name: str, execute: Any, request: ProvisioningRequest) -> ProvisioningResult:
    try:
        result = execute(request)
    except Exception as exc:
        return ProvisioningResult(status="failed", detail=f"{name} raised {exc.__class__.__name__}: {exc}")
    assert isinstance(result, ProvisioningResult)
    return result

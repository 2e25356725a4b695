"""Provisioning: record an order per service and action, dispatch it to the adapters of its kind.

Orders are idempotent by key (derived from the process and the service): a retried activity finds
its order and, if it is done, returns the stored result without calling the adapter again. A failed
order stays in the database for an operator to list and re-run.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.ids import new_id
from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import (
    AdapterRegistry,
    ProvisioningRequest,
    ProvisioningResult,
)
from models.base import unit_of_work
from models.subscriptions import ProvisioningOrder
from runtime.settings import Settings


class OrderInput(BaseModel):
    idempotency_key: str = Field(description="unique per process, service and action")
    action: ProvisioningAction
    service_kind: str
    account_id: str
    subscription_id: str
    service_id: str
    plan_code: str
    characteristics: dict[str, Any] = Field(default_factory=dict)
    expires_at: str | None = None
    device: dict[str, Any] | None = None


class OrderOutcome(BaseModel):
    order_id: str
    state: str
    adapters: list[str]
    detail: str = ""


class ProvisioningActivities:
    def __init__(self, settings: Settings, registry: AdapterRegistry) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: provisioning activities need the database")
        self.database_url = settings.database_url
        self.registry = registry

    def _order(self, order: OrderInput) -> ProvisioningOrder:
        with unit_of_work(self.database_url) as session:
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

    def _finish(
        self, order_id: str, state: str, adapters: list[str], results: dict[str, Any], error: str
    ) -> None:
        with unit_of_work(self.database_url) as session:
            row = session.get(ProvisioningOrder, order_id)
            assert row is not None
            row.state, row.adapter, row.result = state, ",".join(adapters) or None, results
            row.error = error or None

    @activity.defn(name="provision_service")
    def provision_service(self, order: OrderInput) -> OrderOutcome:
        """Carry out one order on every adapter of the service kind (none registered: skipped)."""
        row = self._order(order)
        if row.state in ("done", "skipped"):
            return OrderOutcome(order_id=row.id, state=row.state, adapters=(row.adapter or "").split(","))
        adapters = self.registry.for_kind(order.service_kind)
        if not adapters:
            detail = f"no provisioning adapter serves {order.service_kind!r}"
            self._finish(row.id, "skipped", [], {}, detail)
            return OrderOutcome(order_id=row.id, state="skipped", adapters=[], detail=detail)
        request = ProvisioningRequest(order_id=row.id, **order.model_dump())
        results: dict[str, Any] = {}
        for adapter in adapters:
            result = _execute(adapter.name, adapter.execute, request)
            results[adapter.name] = result.model_dump()
            if result.status == "failed":
                self._finish(row.id, "failed", [a.name for a in adapters], results, result.detail)
                raise ApplicationError(
                    f"{adapter.name} refused {order.action.value} of {order.service_id}: {result.detail}",
                    type="ProvisioningFailed",
                    non_retryable=not result.retryable,
                )
        self._finish(row.id, "done", [a.name for a in adapters], results, "")
        return OrderOutcome(order_id=row.id, state="done", adapters=[a.name for a in adapters])


def _execute(name: str, execute: Any, request: ProvisioningRequest) -> ProvisioningResult:
    try:
        result = execute(request)
    except Exception as exc:
        return ProvisioningResult(status="failed", detail=f"{name} raised {exc.__class__.__name__}: {exc}")
    assert isinstance(result, ProvisioningResult)
    return result

"""The provisioning activity: record an order per service and action, dispatch it to its kind's adapters.

Orders are idempotent by key (derived from the process and the service): a retried activity finds
its order and, if it is done, returns the stored result without calling the adapter again. A failed
order stays in the database for an operator to list and re-run.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.provisioning import io
from activities.provisioning.io import OrderInput, OrderOutcome
from activities.provisioning.orders import finish_order, record_order
from integrations.provisioning.base import AdapterRegistry, ProvisioningRequest, ProvisioningResult
from runtime.settings import Settings


class ProvisioningActivities(io.ProvisioningActivities):
    """The provisioning activity (sync: it runs on the worker's thread pool)."""

    def __init__(self, settings: Settings, registry: AdapterRegistry) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: provisioning activities need the database")
        self.database_url = settings.database_url
        self.registry = registry

    @activity.defn(name="provision_service")
    def provision_service(self, order: OrderInput) -> OrderOutcome:
        """Carry out one order on every adapter of the service kind (none registered: skipped)."""
        row = record_order(self.database_url, order)
        if row.state in ("done", "skipped"):
            return OrderOutcome(order_id=row.id, state=row.state, adapters=(row.adapter or "").split(","))
        adapters = self.registry.for_kind(order.service_kind)
        if not adapters:
            detail = f"no provisioning adapter serves {order.service_kind!r}"
            finish_order(self.database_url, row.id, "skipped", [], {}, detail)
            return OrderOutcome(order_id=row.id, state="skipped", adapters=[], detail=detail)
        request = ProvisioningRequest(order_id=row.id, **order.model_dump())
        results: dict[str, Any] = {}
        for adapter in adapters:
            result = _execute(adapter.name, adapter.execute, request)
            results[adapter.name] = result.model_dump()
            if result.status == "failed":
                finish_order(
                    self.database_url, row.id, "failed", [a.name for a in adapters], results, result.detail
                )
                raise ApplicationError(
                    f"{adapter.name} refused {order.action.value} of {order.service_id}: {result.detail}",
                    type="ProvisioningFailed",
                    non_retryable=not result.retryable,
                )
        finish_order(self.database_url, row.id, "done", [a.name for a in adapters], results, "")
        return OrderOutcome(order_id=row.id, state="done", adapters=[a.name for a in adapters])


def _execute(name: str, execute: Any, request: ProvisioningRequest) -> ProvisioningResult:
    try:
        result = execute(request)
    except Exception as exc:
        return ProvisioningResult(status="failed", detail=f"{name} raised {exc.__class__.__name__}: {exc}")
    assert isinstance(result, ProvisioningResult)
    return result


__all__ = ["ProvisioningActivities"]

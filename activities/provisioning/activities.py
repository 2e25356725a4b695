"""The provisioning activities for Temporal: an order per service and action (provision_service), and an
operator's repairs (retry a failed order, resync the platforms with what should be live).

Orders are idempotent by key (derived from the process and the service): a retried activity finds
its order and, if it is done, returns the stored result without calling the adapter again. A failed
order stays in the database for an operator to list and re-run. The scripts are orders.py,
operator_tools.py and resync.py.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.provisioning import io
from activities.provisioning.io import (
    OrderInput,
    OrderOutcome,
    OrderRetried,
    OrderRetry,
    Resync,
    ResyncReport,
)
from activities.provisioning.operator_tools import retry_order
from activities.provisioning.orders import provision
from activities.provisioning.resync import resync
from activities.shared.failures import refusals_fail_the_process
from integrations.provisioning.base import AdapterRegistry
from runtime.settings import Settings


def _database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set: provisioning activities need the database")
    return settings.database_url


class ProvisioningActivities(io.ProvisioningActivities):
    """The provisioning activity (sync: it runs on the worker's thread pool)."""

    def __init__(self, settings: Settings, registry: AdapterRegistry) -> None:
        self.database_url = _database_url(settings)
        self.registry = registry

    @activity.defn(name="provision_service")
    def provision_service(self, order: OrderInput) -> OrderOutcome:
        """Carry out one order on every adapter of the service kind (none registered: skipped)."""
        return provision(self.database_url, self.registry, order)


class RepairActivities(io.RepairActivities):
    """The repair processes' activities, with the worker's provisioning adapters."""

    def __init__(self, settings: Settings, registry: AdapterRegistry) -> None:
        self.database_url = _database_url(settings)
        self.registry = registry

    @activity.defn(name="retry_provisioning_order")
    def retry(self, request: OrderRetry) -> OrderRetried:
        """Re-run a failed order now; a failure of the platform is an outcome, not an error."""
        with refusals_fail_the_process():
            outcome = retry_order(self.database_url, self.registry, request.principal, request.order_id)
        return OrderRetried(order_id=request.order_id, outcome=outcome.state, detail=outcome.detail)

    @activity.defn(name="resync_provisioning")
    def resync(self, request: Resync) -> ResyncReport:
        """Compare every adapter that can list its services with what should be live, and fix it."""
        with refusals_fail_the_process():
            return resync(self.database_url, self.registry, request.principal, request.key)

    def all(self) -> list[Any]:
        return [self.retry, self.resync]


__all__ = ["ProvisioningActivities", "RepairActivities"]

"""The Acme IoT platform as a provisioning adapter for the ``acme-iot`` service kind (state in memory)."""

from __future__ import annotations

import threading
from typing import Any

from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import ProvisioningRequest, ProvisioningResult, ServiceState

ORDERS: dict[str, ProvisioningRequest] = {}  # what the platform received, by idempotency key
STATE: dict[str, ServiceState] = {}  # the platform's view of each service
_LOCK = threading.Lock()


class AcmeIotAdapter:
    """Activates, suspends and removes IoT SIMs; lists them for resync."""

    name = "acme-iot"
    kinds = frozenset({"acme-iot"})

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        with _LOCK:
            ORDERS.setdefault(request.idempotency_key, request)
            current = STATE.get(request.service_id)
            if request.action == ProvisioningAction.TERMINATE:
                STATE.pop(request.service_id, None)
            else:
                suspended = request.action == ProvisioningAction.SUSPEND
                STATE[request.service_id] = ServiceState(
                    service_id=request.service_id,
                    active=True,
                    suspended=suspended,
                    profile=request.plan_code if current is None else current.profile,
                )
        return ProvisioningResult(status="done", reference=f"acme-iot:{request.service_id}")

    def list_state(self) -> list[ServiceState]:
        with _LOCK:
            return list(STATE.values())

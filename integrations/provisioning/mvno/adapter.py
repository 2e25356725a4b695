"""The MVNO provisioning adapter (service kind ``mobile``): mobile lines on the host network (see simulator).

The order's ``device`` is the SIM (``iccid``, ``imsi``) with the line's number (``msisdn``, E.164; the
provisioning activity fills these in from the warehouse). Actions become host orders:

* activate — ``activate`` (ICCID, IMSI, MSISDN, tariff profile: the plan's ``tariff_profile``
  characteristic, else the plan code); with a ``port_in`` characteristic (``msisdn``, ``donor_operator``,
  ``port_date``, optionally ``authorisation_code``: the onboarding request's ``port_in``) a ``port_in``
  of that number instead. In a DeviceSwap (``device["swap"] == "install"``)
  a ``swap_sim``: the new SIM, the same MSISDN.
* suspend / resume / terminate — the same on the line; a swap's "remove" of the old SIM is no order (the
  ``swap_sim`` of the new one retires it at the host).
* change — a new tariff profile is not an order the host offers: reported done without a call.

The host is asynchronous: the order is sent under ``order_ref`` = the idempotency key (the host answers a
repeat with the same order), then its status is asked until it completes or ``wait_seconds`` pass. Still
pending: failed and retryable (the retry finds the same order again). Rejected: failed, not retryable,
with the host's reason (a retry that finds the order rejected answers so, it never sends it again); an
operator's re-run (``request.rerun``) sends a new order (``<key>#2``, …) once the earlier one is known
rejected. Connection failures and 5xx are retryable; 4xx (bad data) are not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from domain.provisioning import ProvisioningAction
from domain.telephony import line_digits
from integrations.provisioning.base import ProvisioningRequest, ProvisioningResult
from integrations.provisioning.mvno.client import MvnoClient, MvnoError, Order

SERVICE_KIND = "mobile"
STATE_ORDERS = {
    ProvisioningAction.SUSPEND: "suspend",
    ProvisioningAction.RESUME: "resume",
    ProvisioningAction.TERMINATE: "terminate",
}


class BadOrder(Exception):
    """The request lacks what the host needs (no SIM, no number): retrying cannot help."""


@dataclass(frozen=True)
class MvnoConfig:
    base_url: str
    api_key: str = ""
    timeout_seconds: float = 5.0
    wait_seconds: float = 5.0
    poll_seconds: float = 0.1
    callback_url: str | None = None


class MvnoAdapter:
    name = "mvno"
    kinds = frozenset({SERVICE_KIND})

    def __init__(self, config: MvnoConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._client: MvnoClient | None = None

    @property
    def client(self) -> MvnoClient:
        if self._client is None:
            c = self.config
            self._client = MvnoClient(
                c.base_url, c.api_key, timeout_seconds=c.timeout_seconds, transport=self._transport
            )
        return self._client

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        try:
            fields = self._order_fields(request)
            if fields is None:
                return ProvisioningResult(status="done", reference=None, detail=self._no_order(request))
            order = self._await(self._send(request.idempotency_key, fields, rerun=request.rerun))
        except BadOrder as exc:
            return ProvisioningResult(status="failed", detail=str(exc), retryable=False)
        except MvnoError as exc:
            return ProvisioningResult(status="failed", detail=str(exc), retryable=exc.retryable)
        kind = order.type
        if order.status == "completed":
            return ProvisioningResult(status="done", reference=order.order_id, detail=f"{kind} completed")
        if order.status == "rejected" and order.reason is not None:
            reason = f"{order.reason.code}: {order.reason.message}"
            return ProvisioningResult(
                status="failed",
                reference=order.order_id,
                detail=f"{kind} rejected ({reason})",
                retryable=False,
            )
        return ProvisioningResult(
            status="failed",
            reference=order.order_id,
            detail=f"{kind} order {order.order_id} still pending at the host",
            retryable=True,
        )

    # -- what to send ---------------------------------------------------------------------------------
    @staticmethod
    def _no_order(request: ProvisioningRequest) -> str:
        if request.action is ProvisioningAction.CHANGE:
            return "tariff changes are not sent to the host"
        return "the old SIM is retired by the new SIM's swap order"

    def _order_fields(self, request: ProvisioningRequest) -> dict[str, str] | None:
        device: dict[str, Any] = request.device or {}
        swap = device.get("swap")
        action = request.action
        if action is ProvisioningAction.CHANGE:
            return None
        if action is ProvisioningAction.TERMINATE and swap == "remove":
            return None
        if action in STATE_ORDERS:
            return {"type": STATE_ORDERS[action], "msisdn": line_digits(_required(device, "msisdn", request))}
        if action is not ProvisioningAction.ACTIVATE:
            raise BadOrder(f"the MVNO host has no order for {action.value}")
        iccid, imsi = _required(device, "iccid", request), _required(device, "imsi", request)
        if swap == "install":
            msisdn = line_digits(_required(device, "msisdn", request))
            return {"type": "swap_sim", "msisdn": msisdn, "new_iccid": iccid, "new_imsi": imsi}
        profile = str(request.characteristics.get("tariff_profile") or request.plan_code)
        port = request.characteristics.get("port_in")
        if isinstance(port, dict):
            fields = {
                "type": "port_in",
                "msisdn": line_digits(str(port["msisdn"])),
                "iccid": iccid,
                "imsi": imsi,
                "tariff_profile": profile,
                "donor_operator": str(port["donor_operator"]),
                "port_date": str(port["port_date"]),
            }
            if port.get("authorisation_code"):
                fields["authorisation_code"] = str(port["authorisation_code"])
            return fields
        return {
            "type": "activate",
            "msisdn": line_digits(_required(device, "msisdn", request)),
            "iccid": iccid,
            "imsi": imsi,
            "tariff_profile": profile,
        }

    # -- the host's asynchronous orders ---------------------------------------------------------------
    def _send(self, key: str, fields: dict[str, str], *, rerun: bool = False) -> Order:
        """The order under ``key`` (sent now, or found again). A rejected one is the answer (a retry that
        finds it must not send it again), unless an operator re-runs it: then the next ``key#n``."""
        attempt = 1
        while True:
            ref = key if attempt == 1 else f"{key}#{attempt}"
            found = self.client.order_by_ref(ref)
            if found is None:
                kind = fields["type"]
                extra = {k: v for k, v in fields.items() if k != "type"}
                return self.client.submit(ref, kind, callback_url=self.config.callback_url, **extra)  # type: ignore[arg-type]
            if found.status != "rejected" or not rerun:
                return found
            attempt += 1

    def _await(self, order: Order) -> Order:
        deadline = time.monotonic() + self.config.wait_seconds
        while order.status == "pending" and time.monotonic() < deadline:
            time.sleep(self.config.poll_seconds)
            order = self.client.order(order.order_id)
        return order


def _required(device: dict[str, Any], field: str, request: ProvisioningRequest) -> str:
    value = device.get(field)
    if not value:
        raise BadOrder(
            f"{request.action.value} of mobile line {request.service_id} needs the SIM's {field}"
            " (is a SIM assigned to the service?)"
        )
    return str(value)

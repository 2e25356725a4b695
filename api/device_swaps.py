"""A DeviceSwap request from the API: its workflow input, read from the device, and its labelled start.
Shared by /v1/devices/{id}/swap and /v1/tickets/{id}/stolen-device."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.catalog.records import operator_of
from activities.devices import stolen
from activities.devices import traceable as device_store
from activities.devices.logins import characteristics_of
from activities.devices.moves import live_service
from activities.devices.warehouse import visible_warehouse
from api.process_starter import ProcessStart
from api.schemas.devices import SwapRequest
from domain.devices import SwapReason
from domain.errors import Conflict, NotFound
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from models.subscriptions import Subscription
from workflows.device_swap import PROCESS as SWAP_PROCESS
from workflows.device_swap import DeviceSwapInput, DeviceSwapWorkflow, SwappedDevice


def swap_input(session: Session, principal: Principal, device_id: str, body: SwapRequest) -> DeviceSwapInput:
    device = device_store.visible_device(session, principal, device_id, lock=True)
    subscription_id, service_id = device.subscription_id, device.service_id
    taken = stolen.stolen_from(session, device) if body.reason is SwapReason.STOLEN else None
    if (
        taken is not None
    ):  # a stolen device marked lost (its ticket), not replaced yet: swap it for its holder
        subscription_id, service_id = taken.subscription_id, taken.service_id
    elif device.state != "assigned":
        subscription_id = service_id = None
    if subscription_id is None or service_id is None:
        raise Conflict("device_not_assigned", f"device {device.id} is {device.state}, not with a subscriber")
    service = live_service(session, service_id)
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound("subscription", subscription_id)
    if body.warehouse_id is not None:
        visible_warehouse(session, principal, body.warehouse_id)
    return DeviceSwapInput(
        organisation_id=subscription.organisation_id,
        operator_id=operator_of(principal),
        account_id=subscription.account_id,
        subscription_id=subscription.id,
        service_id=service.line_id,
        service_kind=service.product_kind,
        plan_code=service.plan_code,
        plan_version=service.plan_version,
        currency=subscription.currency,
        characteristics=characteristics_of(session, subscription, service),
        old_device=SwappedDevice(
            id=device.id,
            serial=device.serial,
            mac=device.mac,
            smartcard_id=device.smartcard_id,
            product_code=device.product_code,
        ),
        reason=body.reason,
        warehouse_id=body.warehouse_id,
        fee_amount_minor=body.fee_amount_minor,
        requested_by=principal.key_id,
    )


def swap_start(process_id: str, request: DeviceSwapInput) -> ProcessStart:
    """The DeviceSwap process of a request, labelled by the subscription whose device it swaps."""
    labels = ProcessLabels(
        process=SWAP_PROCESS,
        summary=f"Swap of device {request.old_device.serial} ({request.reason.value})",
        organisation_id=request.organisation_id,
        account_id=request.account_id,
        subscription_id=request.subscription_id,
    )
    return ProcessStart(DeviceSwapWorkflow.run, request, process_id, labels)

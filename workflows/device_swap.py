"""DeviceSwap: replace a faulty, damaged or stolen set-top box or router, as a saga.

Steps: quote the fee (damaged only), reserve a replacement of the same product, deprovision the old
device (a stolen one first of all, and never put back in service), provision the new one, move stock
both ways in one transaction (replacement assigned, old device in repair or lost/stolen), and record the
damage fee as a pending charge. When a step fails for good, the steps already done are undone in reverse
order (reprovision the old device unless stolen, withdraw the new one, restore both devices' states,
release the reservation) and the process fails with the cause.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.devices.io import (
        DeviceActivities,
        DeviceFeeInput,
        ReleaseDeviceInput,
        ReserveDeviceInput,
        SwapFeeInput,
        SwapStockInput,
    )
    from activities.provisioning.io import OrderInput, ProvisioningActivities
    from activities.subscriptions.io import Notice, SubscriptionActivities
    from domain.devices import SwapReason
    from domain.provisioning import ProvisioningAction
    from workflows.common import NOTICE_RETRY, STEP_RETRY, SWAP_PROVISION_RETRY, ShowsStep

PROCESS = "DeviceSwap"


class SwappedDevice(BaseModel):
    id: str
    serial: str
    mac: str | None = None
    smartcard_id: str | None = None
    product_code: str


class DeviceSwapInput(BaseModel):
    organisation_id: str = Field(description="the organisation that asked (for process visibility)")
    operator_id: str
    account_id: str
    subscription_id: str
    service_id: str
    service_kind: str
    plan_code: str
    plan_version: int
    currency: str
    characteristics: dict[str, Any] = Field(default_factory=dict)
    old_device: SwappedDevice
    reason: SwapReason
    warehouse_id: str | None = Field(default=None, description="take the replacement from, return to")
    fee_amount_minor: int | None = None
    requested_by: str


class DeviceSwapResult(BaseModel):
    old_device_id: str
    old_state: str
    new_device_id: str
    new_state: str
    fee_amount_minor: int
    currency: str
    charge_id: str | None = None


class SwapStatus(BaseModel):
    process: str = PROCESS
    step: str
    device_id: str
    new_device_id: str | None = None
    error: str | None = None
    compensation_errors: list[str] = Field(default_factory=list)


Compensation = Callable[[], Awaitable[Any]]


@workflow.defn(name=PROCESS)
class DeviceSwapWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._step = "starting"
        self._device_id = ""
        self._new_device_id: str | None = None
        self._error: str | None = None
        self._compensation_errors: list[str] = []

    @workflow.run
    async def run(self, request: DeviceSwapInput) -> DeviceSwapResult:
        self._device_id = request.old_device.id
        self._describe(f"Swap of device {request.old_device.id}")
        undo: list[Compensation] = []
        try:
            return await self._swap(request, undo)
        except ActivityError as err:
            cause = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
            self._error = f"{self._step}: {cause}"
            self._step = "compensating"
            for step in reversed(undo):
                try:
                    await step()
                except ActivityError as failed:
                    self._compensation_errors.append(str(failed.cause or failed))
            self._step = "failed"
            raise ApplicationError(
                f"device swap of {request.old_device.id} failed at {self._error}",
                type="DeviceSwapFailed",
                non_retryable=True,
            ) from err

    async def _swap(self, request: DeviceSwapInput, undo: list[Compensation]) -> DeviceSwapResult:
        wid = workflow.info().workflow_id
        old = request.old_device
        # A stolen device goes out of service first, whether or not a replacement is found, and is never
        # put back in service by a compensation (histories recorded before this replay unchanged).
        blocked_first = request.reason == SwapReason.STOLEN and workflow.patched("stolen-deprovisioned-first")
        if blocked_first:
            self._step = "deprovisioning_old"
            await self._provision(
                request, ProvisioningAction.TERMINATE, old, "remove", f"{wid}:deprovision-old"
            )
        self._step = "quoting_fee"
        fee = await workflow.execute_activity_method(
            DeviceActivities.quote_swap_fee,
            SwapFeeInput(
                operator_id=request.operator_id,
                plan_code=request.plan_code,
                plan_version=request.plan_version,
                currency=request.currency,
                reason=request.reason,
                fee_amount_minor=request.fee_amount_minor,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STEP_RETRY,
        )
        self._step = "reserving"
        reserved = await workflow.execute_activity_method(
            DeviceActivities.reserve_device,
            ReserveDeviceInput(
                idempotency_key=f"{wid}:reserve",
                operator_id=request.operator_id,
                subscription_id=request.subscription_id,
                service_id=request.service_id,
                product_code=request.old_device.product_code,
                warehouse_id=request.warehouse_id,
                actor=request.requested_by,
                process_id=wid,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STEP_RETRY,
        )
        self._new_device_id = reserved.device_id
        new_device = SwappedDevice(
            id=reserved.device_id,
            serial=reserved.serial,
            mac=reserved.mac,
            smartcard_id=reserved.smartcard_id,
            product_code=reserved.product_code,
        )
        release = ReleaseDeviceInput(
            idempotency_key=f"{wid}:release",
            device_id=reserved.device_id,
            reservation_key=reserved.reservation_key,
            actor=request.requested_by,
            process_id=wid,
        )
        undo.append(lambda: self._db(DeviceActivities.release_device, release))

        if not blocked_first:
            self._step = "deprovisioning_old"
            await self._provision(
                request, ProvisioningAction.TERMINATE, old, "remove", f"{wid}:deprovision-old"
            )
            undo.append(
                lambda: self._provision(
                    request, ProvisioningAction.ACTIVATE, old, "install", f"{wid}:restore-old"
                )
            )

        self._step = "provisioning_new"
        await self._provision(
            request, ProvisioningAction.ACTIVATE, new_device, "install", f"{wid}:activate-new"
        )
        undo.append(
            lambda: self._provision(
                request, ProvisioningAction.TERMINATE, new_device, "remove", f"{wid}:withdraw-new"
            )
        )

        self._step = "moving_stock"
        stock_input = SwapStockInput(
            idempotency_key=f"{wid}:stock",
            old_device_id=old.id,
            new_device_id=reserved.device_id,
            reason=request.reason,
            subscription_id=request.subscription_id,
            service_id=request.service_id,
            return_warehouse_id=request.warehouse_id,
            actor=request.requested_by,
            process_id=wid,
        )
        stock = await self._db(DeviceActivities.complete_swap_stock, stock_input)
        undo.append(lambda: self._db(DeviceActivities.undo_swap_stock, stock_input))

        charge_id: str | None = None
        if fee.amount_minor > 0:
            self._step = "charging_fee"
            charge = await self._db(
                DeviceActivities.record_device_fee,
                DeviceFeeInput(
                    idempotency_key=f"{wid}:fee",
                    account_id=request.account_id,
                    subscription_id=request.subscription_id,
                    service_id=request.service_id,
                    device_id=old.id,
                    amount_minor=fee.amount_minor,
                    currency=fee.currency,
                    tax_category=fee.tax_category,
                    description=f"Damaged device replaced (serial {old.serial})",
                ),
            )
            charge_id = charge.charge_id
        if workflow.patched("notify-device-swap"):  # histories recorded before the notice replay unchanged
            await self._notify(request, wid)
        self._step = "completed"
        return DeviceSwapResult(
            old_device_id=old.id,
            old_state=stock.old.state,
            new_device_id=stock.new.device_id,
            new_state=stock.new.state,
            fee_amount_minor=fee.amount_minor,
            currency=fee.currency,
            charge_id=charge_id,
        )

    async def _notify(self, request: DeviceSwapInput, wid: str) -> None:
        """Tell the subscriber; a notice that cannot be sent never undoes a completed swap."""
        self._step = "notifying"
        try:
            await workflow.execute_activity_method(
                SubscriptionActivities.notify_subscriber,
                Notice(subscription_id=request.subscription_id, process_id=wid, kind="device_swapped"),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=NOTICE_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("device swap notice for %s not sent", request.subscription_id)

    async def _db(self, method: Callable[..., Any], argument: BaseModel) -> Any:
        return await workflow.execute_activity_method(
            method, argument, start_to_close_timeout=timedelta(seconds=30), retry_policy=STEP_RETRY
        )

    async def _provision(
        self, request: DeviceSwapInput, action: ProvisioningAction, device: SwappedDevice, role: str, key: str
    ) -> None:
        await workflow.execute_activity_method(
            ProvisioningActivities.provision_service,
            OrderInput(
                idempotency_key=key,
                action=action,
                service_kind=request.service_kind,
                account_id=request.account_id,
                subscription_id=request.subscription_id,
                service_id=request.service_id,
                plan_code=request.plan_code,
                characteristics=request.characteristics,
                device={**device.model_dump(), "swap": role, "reason": request.reason.value},
            ),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=SWAP_PROVISION_RETRY,
        )

    @workflow.query(name="status")
    def status(self) -> SwapStatus:
        return SwapStatus(
            step=self._step,
            device_id=self._device_id,
            new_device_id=self._new_device_id,
            error=self._error,
            compensation_errors=self._compensation_errors,
        )

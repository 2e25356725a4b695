"""Inputs and outputs of the device activities (one pydantic model each, for the data converter), and
the activities as workflows call them."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from domain.devices import SwapReason


class ReserveDeviceInput(BaseModel):
    idempotency_key: str
    operator_id: str
    subscription_id: str
    service_id: str
    product_code: str | None = None
    device_id: str | None = None
    warehouse_id: str | None = None
    actor: str
    process_id: str | None = None


class ReservedDevice(BaseModel):
    device_id: str
    serial: str
    mac: str | None
    smartcard_id: str | None
    product_code: str
    warehouse_id: str
    reservation_key: str


class DispatchDeviceInput(BaseModel):
    idempotency_key: str
    device_id: str
    subscription_id: str
    service_id: str
    actor: str
    process_id: str | None = None


class ReleaseDeviceInput(BaseModel):
    idempotency_key: str
    device_id: str
    reservation_key: str
    actor: str
    process_id: str | None = None


class DeviceStateOut(BaseModel):
    device_id: str
    state: str


class SwapFeeInput(BaseModel):
    operator_id: str
    plan_code: str
    plan_version: int
    currency: str
    reason: SwapReason
    fee_amount_minor: int | None = None


class SwapFee(BaseModel):
    amount_minor: int
    currency: str
    tax_category: str = "standard"


class SwapStockInput(BaseModel):
    idempotency_key: str
    old_device_id: str
    new_device_id: str
    reason: SwapReason
    subscription_id: str
    service_id: str
    return_warehouse_id: str | None = None
    actor: str
    process_id: str | None = None


class SwapStock(BaseModel):
    old: DeviceStateOut
    new: DeviceStateOut


class DeviceFeeInput(BaseModel):
    idempotency_key: str
    account_id: str
    subscription_id: str
    service_id: str
    device_id: str
    amount_minor: int
    currency: str
    description: str
    tax_category: str = "standard"


class DeviceFeeRecorded(BaseModel):
    charge_id: str
    amount_minor: int
    currency: str


class DeviceActivities:
    """Device activities as workflows call them (implemented in activities/devices/activities.py)."""

    @activity.defn(name="reserve_device")
    def reserve_device(self, request: ReserveDeviceInput) -> ReservedDevice:
        """Reserve a named device, or the oldest free one of a product (skipping locked rows)."""
        raise NotImplementedError

    @activity.defn(name="dispatch_device")
    def dispatch_device(self, request: DispatchDeviceInput) -> DeviceStateOut:
        """Hand a device reserved for this subscription to the subscriber (once per key)."""
        raise NotImplementedError

    @activity.defn(name="release_device")
    def release_device(self, request: ReleaseDeviceInput) -> DeviceStateOut:
        """Undo a reservation (a no-op when it was released already or never made)."""
        raise NotImplementedError

    @activity.defn(name="quote_swap_fee")
    def quote_swap_fee(self, request: SwapFeeInput) -> SwapFee:
        """The fee for a swap: none unless damaged; the request's amount or the plan's damage fee."""
        raise NotImplementedError

    @activity.defn(name="complete_swap_stock")
    def complete_swap_stock(self, request: SwapStockInput) -> SwapStock:
        """In one transaction: the replacement to the subscriber, the old device to repair or lost/stolen."""
        raise NotImplementedError

    @activity.defn(name="undo_swap_stock")
    def undo_swap_stock(self, request: SwapStockInput) -> SwapStock:
        """Compensation: the old device back with the subscriber, the replacement back where it came from."""
        raise NotImplementedError

    @activity.defn(name="record_device_fee")
    def record_device_fee(self, request: DeviceFeeInput) -> DeviceFeeRecorded:
        """A pending one-off charge on the subscriber's next bill; the same key twice is one charge."""
        raise NotImplementedError

"""Inputs and outputs of the device activities (one pydantic model each, for the data converter)."""

from __future__ import annotations

from pydantic import BaseModel

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

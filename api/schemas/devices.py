"""Warehouse, device, stock, device login and device swap schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from api.schemas.common import NonNegativeAmountMinor, Strict, Text
from domain.catalog import Code
from domain.devices import SwapReason
from domain.errors import RuleViolation

Serial = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
]
Mac = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"),
]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class WarehouseCreate(Strict):
    code: Code
    name: Text
    kind: Literal["warehouse", "outlet", "repair"] | None = Field(
        default=None, description="Default: outlet for an outlet organisation, else warehouse"
    )
    organisation_id: Ident | None = Field(default=None, description="Owner; defaults to your organisation")


class WarehouseOut(BaseModel):
    id: str
    object: Literal["warehouse"] = "warehouse"
    organisation_id: str
    code: str
    name: str
    kind: str
    created_at: datetime


class DeviceModelCreate(Strict):
    code: Code
    product_code: Code = Field(description="A catalogue product of kind device, traceable")
    manufacturer: Text
    name: Text
    kind: Literal["device", "sim"] = Field(
        default="device", description="sim: its devices are SIM cards received by ICCID and IMSI"
    )


class DeviceModelOut(BaseModel):
    id: str
    object: Literal["device_model"] = "device_model"
    code: str
    product_code: str
    manufacturer: str
    name: str
    kind: str


class DeviceItem(Strict):
    serial: Serial | None = Field(default=None, description="Required, except for a SIM (its ICCID)")
    mac: Mac | None = None
    smartcard_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    iccid: Annotated[str, StringConstraints(pattern=r"^[0-9]{19,20}$")] | None = Field(
        default=None, description="A SIM's ICCID (89…, with its Luhn check digit)"
    )
    imsi: Annotated[str, StringConstraints(pattern=r"^[0-9]{15}$")] | None = Field(
        default=None, description="A SIM's IMSI"
    )
    msisdn: Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{7,14}$")] | None = Field(
        default=None, description="The number paired with the SIM (E.164), if any"
    )


class DevicesReceive(Strict):
    warehouse_id: Ident
    model: Code = Field(description="The device model code")
    items: list[DeviceItem] = Field(min_length=1, max_length=1000)
    reason: Text | None = None


class DeviceOut(BaseModel):
    id: str
    object: Literal["device"] = "device"
    model_id: str
    product_code: str
    serial: str
    mac: str | None
    smartcard_id: str | None
    iccid: str | None = None
    imsi: str | None = None
    msisdn: str | None = None
    state: str
    warehouse_id: str | None
    subscription_id: str | None
    service_id: str | None
    holder_organisation_id: str
    version: int
    created_at: datetime
    updated_at: datetime


class DevicesReceived(BaseModel):
    data: list[DeviceOut]


class DeviceStateChange(Strict):
    state: Literal["in_stock", "in_repair", "lost_stolen", "retired"] = Field(
        description="in_repair, lost_stolen, retired, or in_stock (found / repaired)"
    )
    warehouse_id: Ident | None = Field(
        default=None, description="Where the device goes (default: where it is)"
    )
    reason: Text | None = None


class DeviceAssign(Strict):
    service_id: Ident = Field(description="The subscription service the device serves")


class DeviceReturn(Strict):
    warehouse_id: Ident
    state: Literal["in_stock", "in_repair"] = "in_stock"
    reason: Text | None = None


class MovementCreate(Strict):
    """Quantities of a non-traceable product (product_code + quantity), or traceable devices by id."""

    kind: Literal["receive", "transfer", "write_off"]
    product_code: Code | None = None
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    device_ids: list[Ident] | None = Field(default=None, min_length=1, max_length=1000)
    from_warehouse_id: Ident | None = None
    to_warehouse_id: Ident | None = None
    reason: Text | None = None

    @model_validator(mode="after")
    def _one_way(self) -> MovementCreate:
        by_quantity = self.product_code is not None and self.quantity is not None
        if by_quantity == (self.device_ids is not None):
            raise RuleViolation("invalid_movement", "send product_code and quantity, or device_ids")
        if self.device_ids is not None and self.kind == "receive":
            raise RuleViolation("invalid_movement", "receive devices by serial with POST /v1/devices")
        if self.device_ids is not None and self.kind == "transfer" and self.to_warehouse_id is None:
            raise RuleViolation("invalid_movement", "a transfer names a to_warehouse_id")
        return self


class MovementOut(BaseModel):
    id: str
    object: Literal["stock_movement"] = "stock_movement"
    kind: str
    product_code: str
    quantity: int
    device_id: str | None
    from_state: str | None
    to_state: str | None
    from_warehouse_id: str | None
    to_warehouse_id: str | None
    subscription_id: str | None
    service_id: str | None
    reason: str | None
    actor: str
    process_id: str | None
    at: datetime


class BalanceOut(BaseModel):
    warehouse_id: str
    product_code: str
    traceable: bool
    quantity: int = Field(description="Items available: non-traceable quantity, or devices in stock")
    by_state: dict[str, int] = Field(description="Traceable devices in the warehouse by state")


class CredentialIssue(Strict):
    service_id: Ident


class CredentialOut(BaseModel):
    object: Literal["service_credential"] = "service_credential"
    service_id: str
    account_id: str
    secret: str | None = Field(description="Shown once; null when the response is replayed")
    issued_at: datetime


class DeviceLoginIn(Strict):
    account_id: Ident
    secret: Annotated[str, StringConstraints(min_length=8, max_length=200)] = Field(
        description="The service login secret (mbs_…) issued for the subscriber's service"
    )
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="The app's own stable identifier of the device"
    )
    device_name: Text | None = None


class DeviceLogoutIn(Strict):
    account_id: Ident
    secret: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    device_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class DeviceLoginOut(BaseModel):
    object: Literal["device_login"] = "device_login"
    id: str
    service_id: str
    device_id: str
    device_name: str | None
    logged_in_at: datetime
    last_seen_at: datetime
    logged_out: list[str] = Field(description="Logins ended to make room (policy logout_oldest)")
    max_devices: int | None
    policy: str


class DeviceLogoutOut(BaseModel):
    device_id: str
    logged_out: bool = Field(description="Whether the device was logged in (false: nothing to end)")


class SwapRequest(Strict):
    reason: SwapReason
    warehouse_id: Ident | None = Field(
        default=None, description="Take the replacement from (and return the old device to) this warehouse"
    )
    fee_amount_minor: NonNegativeAmountMinor | None = Field(
        default=None, description="Damage fee in minor units; default: the plan's device_damage fee"
    )


class SwapAccepted(BaseModel):
    object: Literal["device_swap"] = "device_swap"
    process_id: str
    device_id: str
    reason: SwapReason
    status: Literal["started"] = "started"

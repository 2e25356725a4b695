"""/v1/devices: receive serials, list and read devices, change state, assign, return; plus the stock,
device login and device swap routes (one router for app.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from activities.accounts.organisations import Principal
from activities.devices import traceable as device_store
from api.deps import IdempotentWriteDep, SessionDep, StaffDep
from api.idempotency import IdempotentWrite
from api.routes import device_logins, device_swap, stock
from api.routes.stock import StockDep
from api.schemas.common import Page
from api.schemas.devices import (
    DeviceAssign,
    DeviceOut,
    DeviceReturn,
    DevicesReceive,
    DevicesReceived,
    DeviceStateChange,
)
from models.devices import Device

devices = APIRouter(prefix="/v1/devices", tags=["devices and stock"])


def device_out(row: Device) -> dict[str, Any]:
    return DeviceOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@devices.post("", status_code=201, response_model=DevicesReceived, summary="Receive a batch of serials")
def receive_devices(body: DevicesReceive, principal: StockDep, write: IdempotentWriteDep) -> Response:
    """All serials are received into the warehouse, or none (a known serial is 409 `serial_exists`)."""
    payload = body.model_dump(mode="json")

    def produce(session: Session) -> dict[str, Any]:
        return {"data": [device_out(d) for d in device_store.receive_devices(session, principal, payload)]}

    return write(payload, produce)


@devices.get("", response_model=Page[DeviceOut], summary="List devices in your subtree")
def list_devices(
    principal: StaffDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    state: Annotated[
        str | None, Query(pattern="^(in_stock|reserved|assigned|in_repair|lost_stolen|retired)$")
    ] = None,
    warehouse_id: Annotated[str | None, Query(max_length=40)] = None,
    product_code: Annotated[str | None, Query(max_length=64)] = None,
    model_id: Annotated[str | None, Query(max_length=40)] = None,
    subscription_id: Annotated[str | None, Query(max_length=40)] = None,
    serial: Annotated[str | None, Query(max_length=64)] = None,
    iccid: Annotated[str | None, Query(max_length=20, description="a SIM by its ICCID")] = None,
    imsi: Annotated[str | None, Query(max_length=15, description="a SIM by its IMSI")] = None,
    msisdn: Annotated[str | None, Query(max_length=16, description="a SIM by its number (E.164)")] = None,
) -> dict[str, Any]:
    filters = {
        "state": state,
        "warehouse_id": warehouse_id,
        "product_code": product_code,
        "model_id": model_id,
        "subscription_id": subscription_id,
        "serial": serial,
        "iccid": iccid,
        "imsi": imsi,
        "msisdn": msisdn,
    }
    rows, next_cursor = device_store.list_devices(session, principal, filters, cursor, limit)
    data = [device_out(d) for d in rows]
    return {"data": data, "next_cursor": next_cursor, "has_more": next_cursor is not None}


@devices.get("/{device_id}", response_model=DeviceOut, summary="Get a device")
def get_device(device_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return device_out(device_store.visible_device(session, principal, device_id))


DeviceAction = Callable[[Session, Principal, str, dict[str, Any]], Device]


def _device_write(
    write: IdempotentWrite, action: DeviceAction, principal: Principal, device_id: str, body: BaseModel
) -> Response:
    payload = body.model_dump(mode="json")
    return write(payload, lambda s: device_out(action(s, principal, device_id, payload)), status=200)


@devices.post("/{device_id}/state", response_model=DeviceOut, summary="Repair, lost/stolen, found, retire")
def change_state(
    device_id: str, body: DeviceStateChange, principal: StockDep, write: IdempotentWriteDep
) -> Response:
    """A move the device's life does not allow is 409 `invalid_device_state`."""
    return _device_write(write, device_store.change_state, principal, device_id, body)


@devices.post("/{device_id}/assign", response_model=DeviceOut, summary="Dispatch a device to a subscriber")
def assign_device(
    device_id: str, body: DeviceAssign, principal: StockDep, write: IdempotentWriteDep
) -> Response:
    """Only a device in stock can be assigned (else 409 `device_not_available`)."""
    return _device_write(write, device_store.assign_device, principal, device_id, body)


@devices.post("/{device_id}/return", response_model=DeviceOut, summary="Take a device back from a subscriber")
def return_device(
    device_id: str, body: DeviceReturn, principal: StockDep, write: IdempotentWriteDep
) -> Response:
    return _device_write(write, device_store.return_device, principal, device_id, body)


router = APIRouter()
router.include_router(stock.router)
router.include_router(device_logins.router)  # /v1/devices/login, /logout, /credentials before /{id}
router.include_router(device_swap.router)
router.include_router(devices)

"""/v1/warehouses, /v1/device-models, /v1/stock: where stock sits, what it is, how it moved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.devices import traceable as device_store
from activities.devices import warehouse
from api.deps import (
    AdminDep,
    IdempotentWriteDep,
    OperatorAdminDep,
    SessionDep,
    StaffDep,
    require_role,
)
from api.schemas.common import Page
from api.schemas.devices import (
    BalanceOut,
    DeviceModelCreate,
    DeviceModelOut,
    MovementCreate,
    MovementOut,
    WarehouseCreate,
    WarehouseOut,
)
from domain.organisations import Role
from domain.principal import Principal
from models.devices import DeviceModel, StockMovement, Warehouse

router = APIRouter(tags=["devices and stock"])

# Operator admins and agents (an outlet agent included) move stock in their subtree.
StockDep = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.AGENT))]


def warehouse_out(row: Warehouse) -> dict[str, Any]:
    return WarehouseOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def movement_out(row: StockMovement) -> dict[str, Any]:
    return MovementOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def model_out(row: DeviceModel) -> dict[str, Any]:
    return DeviceModelOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.post("/v1/warehouses", status_code=201, response_model=WarehouseOut, summary="Create a warehouse")
def create_warehouse(body: WarehouseCreate, principal: AdminDep, write: IdempotentWriteDep) -> Response:
    """An operator warehouse, a repair centre, or a retail outlet's stock (owned by the outlet)."""
    payload = body.model_dump(mode="json")
    return write(payload, lambda s: warehouse_out(warehouse.create_warehouse(s, principal, payload)))


@router.get("/v1/warehouses", response_model=list[WarehouseOut], summary="Warehouses in your subtree")
def list_warehouses(principal: StaffDep, session: SessionDep) -> list[dict[str, Any]]:
    return [warehouse_out(w) for w in warehouse.list_warehouses(session, principal)]


@router.post(
    "/v1/device-models", status_code=201, response_model=DeviceModelOut, summary="Add a device model"
)
def create_device_model(
    body: DeviceModelCreate, principal: OperatorAdminDep, write: IdempotentWriteDep
) -> Response:
    payload = body.model_dump(mode="json")
    return write(payload, lambda s: model_out(warehouse.add_device_model(s, principal, payload)))


@router.get("/v1/device-models", response_model=list[DeviceModelOut], summary="Device models")
def list_device_models(principal: StaffDep, session: SessionDep) -> list[dict[str, Any]]:
    return [model_out(m) for m in warehouse.list_device_models(session, principal)]


@router.get("/v1/stock", response_model=list[BalanceOut], summary="Stock balances per warehouse and product")
def get_balances(
    principal: StaffDep,
    session: SessionDep,
    warehouse_id: Annotated[str | None, Query(max_length=40)] = None,
    product_code: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    if warehouse_id is not None:
        warehouse.visible_warehouse(session, principal, warehouse_id)
    return warehouse.balances(session, principal, warehouse_id, product_code)


@router.post(
    "/v1/stock/movements",
    status_code=201,
    response_model=Page[MovementOut],
    summary="Receive, transfer or write off stock",
)
def create_movement(body: MovementCreate, principal: StockDep, write: IdempotentWriteDep) -> Response:
    """Quantities of a non-traceable product, or traceable devices by id (transfer, write off).

    All or nothing: more than a warehouse holds is 409 `insufficient_stock`; a device not in stock
    is 409 `device_not_available`.
    """
    payload = body.model_dump(mode="json", exclude_none=True)

    def produce(session: Session) -> dict[str, Any]:
        if body.device_ids is not None:
            rows = device_store.move_devices(session, principal, payload)
        else:
            rows = [warehouse.move_quantity(session, principal, payload)]
        return {"data": [movement_out(r) for r in rows], "next_cursor": None, "has_more": False}

    return write(payload, produce)


@router.get("/v1/stock/movements", response_model=Page[MovementOut], summary="Movement history")
def list_movements(
    principal: StaffDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    device_id: Annotated[str | None, Query(max_length=40)] = None,
    product_code: Annotated[str | None, Query(max_length=64)] = None,
    warehouse_id: Annotated[str | None, Query(max_length=40)] = None,
    subscription_id: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    filters = {
        "kind": kind,
        "device_id": device_id,
        "product_code": product_code,
        "warehouse_id": warehouse_id,
        "subscription_id": subscription_id,
    }
    rows, next_cursor = warehouse.list_movements(session, principal, filters, cursor, limit)
    data = [movement_out(r) for r in rows]
    return {"data": data, "next_cursor": next_cursor, "has_more": next_cursor is not None}

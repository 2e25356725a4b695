"""Warehouses, device models and stock of non-traceable items, as the API's callers see them.

A warehouse belongs to an organisation (the operator's own, or a retail outlet's stock room); a key
sees and moves the stock of warehouses in its subtree. Quantities change under row locks taken in
a fixed order, and a CHECK constraint backs the rule that stock never goes negative.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from activities.catalog.records import operator_of, product
from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from activities.shared.visibility import find_visible_organisation
from domain.catalog import ProductKind
from domain.devices import MovementKind, apply_deltas, movement_deltas
from domain.errors import Conflict, NotFound, RuleViolation
from domain.ids import new_id
from domain.principal import Principal
from models.devices import Device, DeviceModel, StockBalance, StockMovement, Warehouse
from models.organisations import Organisation


def visible_warehouse(session: Session, principal: Principal, warehouse_id: str) -> Warehouse:
    row = session.execute(
        select(Warehouse)
        .join(Organisation, Organisation.id == Warehouse.organisation_id)
        .where(
            Warehouse.id == warehouse_id,
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("warehouse", warehouse_id)
    return row


def create_warehouse(session: Session, principal: Principal, fields: dict[str, Any]) -> Warehouse:
    org_id = fields.get("organisation_id") or principal.organisation_id
    org = find_visible_organisation(session, principal, org_id)
    if org is None:
        raise NotFound("organisation", org_id)
    kind = fields.get("kind") or ("outlet" if org.kind == "outlet" else "warehouse")
    row = Warehouse(
        id=new_id("whs"),
        organisation_id=org.id,
        operator_id=operator_of(principal),
        code=fields["code"],
        name=fields["name"],
        kind=kind,
        created_by=principal.key_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("already_exists", f"warehouse {fields['code']} already exists in {org.id}") from exc
    return row


def list_warehouses(session: Session, principal: Principal) -> list[Warehouse]:
    return list(
        session.execute(
            select(Warehouse)
            .join(Organisation, Organisation.id == Warehouse.organisation_id)
            .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
            .order_by(Warehouse.id)
        ).scalars()
    )


def device_product(session: Session, operator_id: str, code: str, *, traceable: bool) -> None:
    """The catalogue product must be a device, traceable (by serial) or not (by quantity) as asked."""
    row = product(session, operator_id, code)
    if row.kind != ProductKind.DEVICE.value:
        raise RuleViolation("not_a_device", f"product {code} is a {row.kind} product, not a device")
    if bool(row.spec.get("traceable")) != traceable:
        how = "one by one by serial" if row.spec.get("traceable") else "by quantity"
        raise RuleViolation("wrong_tracking", f"device product {code} is tracked {how}")


def add_device_model(session: Session, principal: Principal, fields: dict[str, Any]) -> DeviceModel:
    operator_id = operator_of(principal)
    device_product(session, operator_id, fields["product_code"], traceable=True)
    row = DeviceModel(id=new_id("dmd"), operator_id=operator_id, **fields)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("already_exists", f"device model {fields['code']} already exists") from exc
    return row


def list_device_models(session: Session, principal: Principal) -> list[DeviceModel]:
    return list(
        session.execute(
            select(DeviceModel)
            .where(DeviceModel.operator_id == operator_of(principal))
            .order_by(DeviceModel.id)
        ).scalars()
    )


def _locked_balances(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Lock the balance rows (creating empty ones) in a fixed order, so two transfers cannot deadlock."""
    found: dict[tuple[str, str], int] = {}
    for warehouse_id, code in sorted(set(keys)):
        session.execute(
            insert(StockBalance)
            .values(warehouse_id=warehouse_id, product_code=code, quantity=0)
            .on_conflict_do_nothing()
        )
        found[(warehouse_id, code)] = session.execute(
            select(StockBalance.quantity)
            .where(StockBalance.warehouse_id == warehouse_id, StockBalance.product_code == code)
            .with_for_update()
        ).scalar_one()
    return found


def move_quantity(session: Session, principal: Principal, fields: dict[str, Any]) -> StockMovement:
    """Receive, transfer or write off ``quantity`` non-traceable items of a device product."""
    operator_id = operator_of(principal)
    kind = MovementKind(fields["kind"])
    code = fields["product_code"]
    source = fields.get("from_warehouse_id")
    target = fields.get("to_warehouse_id")
    for warehouse_id in (source, target):
        if warehouse_id is not None:
            visible_warehouse(session, principal, warehouse_id)
    changes = movement_deltas(kind, code, fields["quantity"], source=source, target=target)
    device_product(session, operator_id, code, traceable=False)
    current = _locked_balances(session, [(c.warehouse_id, c.product_code) for c in changes])
    after = apply_deltas(current, changes)
    for (warehouse_id, product_code), quantity in after.items():
        row = session.get(StockBalance, (warehouse_id, product_code))
        assert row is not None
        row.quantity = quantity
    movement = StockMovement(
        id=new_id("mov"),
        operator_id=operator_id,
        kind=kind.value,
        product_code=code,
        quantity=fields["quantity"],
        from_warehouse_id=source,
        to_warehouse_id=target,
        reason=fields.get("reason"),
        actor=principal.key_id,
    )
    session.add(movement)
    session.flush()
    return movement


def balances(
    session: Session, principal: Principal, warehouse_id: str | None, product_code: str | None
) -> list[dict[str, Any]]:
    """Per warehouse and product: quantities of non-traceable items, and traceable devices by state."""
    visible = select(Warehouse.id).join(Organisation, Organisation.id == Warehouse.organisation_id)
    visible = visible.where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
    if warehouse_id is not None:
        visible = visible.where(Warehouse.id == warehouse_id)
    quantities = select(StockBalance).where(StockBalance.warehouse_id.in_(visible))
    devices = (
        select(Device.warehouse_id, Device.product_code, Device.state, func.count())
        .where(Device.warehouse_id.in_(visible))
        .group_by(Device.warehouse_id, Device.product_code, Device.state)
    )
    if product_code is not None:
        quantities = quantities.where(StockBalance.product_code == product_code)
        devices = devices.where(Device.product_code == product_code)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for balance in session.execute(quantities).scalars():
        rows[(balance.warehouse_id, balance.product_code)] = {
            "warehouse_id": balance.warehouse_id,
            "product_code": balance.product_code,
            "traceable": False,
            "quantity": balance.quantity,
            "by_state": {},
        }
    for warehouse, code, state, count in session.execute(devices).all():
        assert warehouse is not None
        row = rows.setdefault(
            (warehouse, code),
            {
                "warehouse_id": warehouse,
                "product_code": code,
                "traceable": True,
                "quantity": 0,
                "by_state": {},
            },
        )
        row["by_state"][state] = int(count)
        if state == "in_stock":
            row["quantity"] += int(count)
    return [rows[k] for k in sorted(rows)]


def list_movements(
    session: Session, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> tuple[list[StockMovement], str | None]:
    """Movements touching the caller's warehouses (an operator-wide key sees every movement)."""
    stmt: Select[StockMovement] = select(StockMovement).where(
        StockMovement.operator_id == operator_of(principal)
    )
    if principal.organisation_id != operator_of(principal):
        mine = select(Warehouse.id).join(Organisation, Organisation.id == Warehouse.organisation_id)
        mine = mine.where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
        stmt = stmt.where(StockMovement.from_warehouse_id.in_(mine) | StockMovement.to_warehouse_id.in_(mine))
    for name in ("kind", "device_id", "product_code", "subscription_id"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(StockMovement, name) == filters[name])
    if filters.get("warehouse_id") is not None:
        wid = filters["warehouse_id"]
        stmt = stmt.where((StockMovement.from_warehouse_id == wid) | (StockMovement.to_warehouse_id == wid))
    if cursor:
        stmt = stmt.where(StockMovement.id > decode_cursor(cursor, "mov"))
    rows, more = fetch_page(session, stmt.order_by(StockMovement.id), limit)
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)

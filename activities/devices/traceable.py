"""Traceable devices as the API's callers see them: receive by serial, list, move, assign, change state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from activities.catalog.records import operator_of
from activities.devices.moves import (
    Who,
    dispatch,
    live_service,
    locked_device,
    move,
    subscription_of,
    take_back,
)
from activities.devices.sims import SIM_FIELDS, checked_sim_items, known_sims
from activities.devices.warehouse import device_product, visible_warehouse
from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from domain.devices import IN_A_WAREHOUSE, DeviceState, MovementKind, check_state_request
from domain.errors import Conflict, NotFound, RuleViolation
from domain.ids import is_valid_id, new_id
from domain.principal import Principal
from models.devices import Device, DeviceModel, StockMovement, Warehouse
from models.organisations import Organisation

LIST_FILTERS = (
    "state",
    "warehouse_id",
    "product_code",
    "model_id",
    "subscription_id",
    "serial",
    "iccid",  # a SIM is traced by its ICCID, its IMSI or its line's number
    "imsi",
    "msisdn",
)


def _visible(principal: Principal) -> Select[Device]:
    return (
        select(Device)
        .join(Organisation, Organisation.id == Device.holder_organisation_id)
        .where(
            Device.operator_id == operator_of(principal),
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
    )


def visible_device(session: Session, principal: Principal, device_id: str, *, lock: bool = False) -> Device:
    if not is_valid_id(device_id, "dev"):
        raise NotFound("device", device_id)
    stmt = _visible(principal).where(Device.id == device_id)
    if lock:
        stmt = stmt.with_for_update(of=Device)
    device = session.execute(stmt).scalar_one_or_none()
    if device is None:
        raise NotFound("device", device_id)
    return device


def receive_devices(session: Session, principal: Principal, fields: dict[str, Any]) -> list[Device]:
    """Receive a batch of serials into a warehouse: all of them, or (one serial already known) none."""
    operator_id = operator_of(principal)
    warehouse = visible_warehouse(session, principal, fields["warehouse_id"])
    model = session.execute(
        select(DeviceModel).where(DeviceModel.operator_id == operator_id, DeviceModel.code == fields["model"])
    ).scalar_one_or_none()
    if model is None:
        raise NotFound("device_model", fields["model"])
    device_product(session, operator_id, model.product_code, traceable=True)
    items: list[dict[str, Any]] = fields["items"]
    if model.kind == "sim":
        items = checked_sim_items(items)
        known_sims(session, operator_id, items)
    elif any(item.get(f) for item in items for f in SIM_FIELDS):
        raise RuleViolation("not_a_sim", f"device model {model.code} is not a SIM model", field="model")
    missing = [i for i, item in enumerate(items) if not item.get("serial")]
    if missing:
        raise RuleViolation(
            "field_required", "a device needs its serial", field=f"items[{missing[0]}].serial"
        )
    serials = [item["serial"] for item in items]
    repeated = sorted({s for s in serials if serials.count(s) > 1})
    if repeated:
        raise RuleViolation(
            "duplicate_serial", f"serial {repeated[0]} appears twice in the batch", field="items"
        )
    known = session.execute(
        select(Device.serial).where(Device.operator_id == operator_id, Device.serial.in_(serials))
    ).scalars()
    existing = sorted(known)
    if existing:
        raise Conflict("serial_exists", f"serial {', '.join(existing)} is already registered")
    try:
        with session.begin_nested():  # the unique constraints are the last guard (a concurrent receipt)
            return _add_devices(session, principal, warehouse, model, items, fields.get("reason"))
    except IntegrityError as exc:
        raise Conflict(
            "device_exists", "a serial, ICCID, IMSI or number of the batch was registered meanwhile"
        ) from exc


def _add_devices(
    session: Session,
    principal: Principal,
    warehouse: Warehouse,
    model: DeviceModel,
    items: list[dict[str, Any]],
    reason: str | None,
) -> list[Device]:
    operator_id = model.operator_id
    devices = []
    for item in items:
        device = Device(
            id=new_id("dev"),
            operator_id=operator_id,
            holder_organisation_id=warehouse.organisation_id,
            model_id=model.id,
            product_code=model.product_code,
            serial=item["serial"],
            mac=item.get("mac"),
            smartcard_id=item.get("smartcard_id"),
            iccid=item.get("iccid"),
            imsi=item.get("imsi"),
            msisdn=item.get("msisdn"),
            state=DeviceState.IN_STOCK.value,
            warehouse_id=warehouse.id,
            version=1,
        )
        session.add(device)
        session.flush()
        session.add(
            StockMovement(
                id=new_id("mov"),
                operator_id=operator_id,
                kind=MovementKind.RECEIVE.value,
                product_code=model.product_code,
                quantity=1,
                device_id=device.id,
                to_state=DeviceState.IN_STOCK.value,
                to_warehouse_id=warehouse.id,
                reason=reason,
                actor=principal.key_id,
            )
        )
        devices.append(device)
    session.flush()
    return devices


def list_devices(
    session: Session, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> tuple[list[Device], str | None]:
    stmt = _visible(principal)
    for name in LIST_FILTERS:
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Device, name) == filters[name])
    if cursor:
        stmt = stmt.where(Device.id > decode_cursor(cursor, "dev"))
    rows, more = fetch_page(session, stmt.order_by(Device.id), limit)
    return rows, (encode_cursor(rows[-1].id) if more and rows else None)


def move_devices(session: Session, principal: Principal, fields: dict[str, Any]) -> list[StockMovement]:
    """Transfer devices in stock to another warehouse, or write them off (retired); all or none."""
    kind = MovementKind(fields["kind"])
    target = (
        visible_warehouse(session, principal, fields["to_warehouse_id"])
        if kind is MovementKind.TRANSFER
        else None
    )
    who = Who(principal.key_id)
    movements = []
    for device_id in sorted(set(fields["device_ids"])):
        device = visible_device(session, principal, device_id, lock=True)
        if device.state != DeviceState.IN_STOCK.value:
            raise Conflict("device_not_available", f"device {device.id} is {device.state}, not in stock")
        if fields.get("from_warehouse_id") and device.warehouse_id != fields["from_warehouse_id"]:
            raise Conflict("device_elsewhere", f"device {device.id} is not in {fields['from_warehouse_id']}")
        if target is not None:
            if target.id == device.warehouse_id:
                raise RuleViolation("invalid_movement", f"device {device.id} is already in {target.id}")
            movements.append(_relocate(session, device, target.id, target.organisation_id, who, fields))
        else:
            movements.append(
                move(
                    session,
                    device,
                    DeviceState.RETIRED,
                    kind,
                    who,
                    reason=fields.get("reason"),
                    warehouse=visible_warehouse(session, principal, device.warehouse_id or ""),
                )
            )
    return movements


def _relocate(
    session: Session, device: Device, warehouse_id: str, org_id: str, who: Who, fields: dict[str, Any]
) -> StockMovement:
    movement = StockMovement(
        id=new_id("mov"),
        operator_id=device.operator_id,
        kind=MovementKind.TRANSFER.value,
        product_code=device.product_code,
        quantity=1,
        device_id=device.id,
        from_state=device.state,
        to_state=device.state,
        from_warehouse_id=device.warehouse_id,
        to_warehouse_id=warehouse_id,
        reason=fields.get("reason"),
        actor=who.actor,
    )
    device.warehouse_id, device.holder_organisation_id = warehouse_id, org_id
    device.version += 1
    session.add(movement)
    session.flush()
    return movement


def change_state(session: Session, principal: Principal, device_id: str, fields: dict[str, Any]) -> Device:
    """Staff marks a device in repair, lost/stolen, found (in stock) or retired."""
    device = visible_device(session, principal, device_id, lock=True)
    target = DeviceState(fields["state"])
    check_state_request(device.id, DeviceState(device.state), target)
    who = Who(principal.key_id)
    warehouse_id = fields.get("warehouse_id") or device.warehouse_id
    if target in IN_A_WAREHOUSE and warehouse_id is None:
        raise RuleViolation(
            "warehouse_required", f"a device {target.value} needs a warehouse_id", field="warehouse_id"
        )
    warehouse = (
        visible_warehouse(session, principal, warehouse_id)
        if warehouse_id and target is not DeviceState.LOST_STOLEN
        else None
    )
    if device.state == DeviceState.ASSIGNED.value:
        take_back(session, device, target, who, warehouse=warehouse, reason=fields.get("reason"))
    else:
        move(
            session,
            device,
            target,
            MovementKind.STATE_CHANGE,
            who,
            warehouse=warehouse,
            reason=fields.get("reason"),
        )
    return device


def assign_device(session: Session, principal: Principal, device_id: str, fields: dict[str, Any]) -> Device:
    """Dispatch a device in stock to a subscription's service (visible to the caller)."""
    device = visible_device(session, principal, device_id, lock=True)
    service = live_service(session, fields["service_id"])
    subscription = subscription_of(session, service.subscription_id)
    org = session.get(Organisation, subscription.organisation_id)
    if org is None or not org.path.startswith(principal.organisation_path):
        raise NotFound("service", fields["service_id"])
    dispatch(
        session, device, Who(principal.key_id), subscription_id=subscription.id, service_id=service.line_id
    )
    return device


def return_device(session: Session, principal: Principal, device_id: str, fields: dict[str, Any]) -> Device:
    device = visible_device(session, principal, device_id, lock=True)
    warehouse = visible_warehouse(session, principal, fields["warehouse_id"])
    target = DeviceState(fields.get("state") or DeviceState.IN_STOCK.value)
    take_back(
        session, device, target, Who(principal.key_id), warehouse=warehouse, reason=fields.get("reason")
    )
    return device


__all__ = ["locked_device"]

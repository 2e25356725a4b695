"""Moving one traceable device through its life, inside the caller's transaction.

Every function locks the device row (``FOR UPDATE``), asks domain/devices.py whether the move is
allowed, changes the row and records a movement with who (actor: API key id) and when. Moves that
a process makes carry an idempotency key: a retried call finds its movement and changes nothing.

A device reaching a subscriber or leaving one is a business event (``device.dispatched``,
``device.returned``, ``device.lost_stolen``) of the subscriber's organisation, recorded with the
movement: a logistics integrator ships the box, or books the return, from its webhook.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.billing.device_returns import credit_returned_rental
from activities.events.outbox import record
from activities.events.snapshots import account_organisation
from domain.devices import DeviceState, MovementKind, check_available, check_transition
from domain.errors import Conflict, NotFound
from domain.events import BusinessEvent
from domain.ids import new_id
from models.devices import Device, StockMovement, Warehouse
from models.subscriptions import Subscription, SubscriptionService


@dataclass(frozen=True)
class Who:
    """Who asks for a move: an API key id, and the process it runs in (if any)."""

    actor: str
    process_id: str | None = None


def movement_by_key(session: Session, key: str) -> StockMovement | None:
    return session.execute(
        select(StockMovement).where(StockMovement.idempotency_key == key)
    ).scalar_one_or_none()


def locked_device(session: Session, device_id: str, operator_id: str | None = None) -> Device:
    stmt = select(Device).where(Device.id == device_id).with_for_update()
    if operator_id is not None:
        stmt = stmt.where(Device.operator_id == operator_id)
    device = session.execute(stmt).scalar_one_or_none()
    if device is None:
        raise NotFound("device", device_id)
    return device


def warehouse_of(session: Session, warehouse_id: str, operator_id: str) -> Warehouse:
    row = session.get(Warehouse, warehouse_id)
    if row is None or row.operator_id != operator_id:
        raise NotFound("warehouse", warehouse_id)
    return row


def subscription_of(session: Session, subscription_id: str) -> Subscription:
    row = session.get(Subscription, subscription_id)
    if row is None:
        raise NotFound("subscription", subscription_id)
    return row


def live_service(session: Session, service_id: str, *, lock: bool = False) -> SubscriptionService:
    """A subscription service by its id or its line id (stable across plan changes): the live row."""
    stmt = (
        select(SubscriptionService)
        .where((SubscriptionService.id == service_id) | (SubscriptionService.line_id == service_id))
        .order_by(SubscriptionService.ended_on.is_not(None), SubscriptionService.created_at.desc())
        .limit(1)
    )
    row = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if row is None:
        raise NotFound("service", service_id)
    return row


def move(
    session: Session,
    device: Device,
    target: DeviceState,
    kind: MovementKind,
    who: Who,
    *,
    warehouse: Warehouse | None = None,
    subscription: Subscription | None = None,
    service_id: str | None = None,
    reason: str | None = None,
    key: str | None = None,
) -> StockMovement:
    """Put ``device`` in ``target`` at ``warehouse`` or with ``subscription``; record the movement."""
    current = DeviceState(device.state)
    check_transition(device.id, current, target)
    source = device.warehouse_id
    movement = StockMovement(
        id=new_id("mov"),
        operator_id=device.operator_id,
        kind=kind.value,
        product_code=device.product_code,
        quantity=1,
        device_id=device.id,
        from_state=current.value,
        to_state=target.value,
        from_warehouse_id=source,
        to_warehouse_id=warehouse.id if warehouse is not None else None,
        subscription_id=subscription.id if subscription else device.subscription_id,
        service_id=service_id or device.service_id,
        reason=reason,
        actor=who.actor,
        process_id=who.process_id,
        idempotency_key=key,
    )
    device.state = target.value
    device.warehouse_id = warehouse.id if warehouse is not None else None
    device.subscription_id = subscription.id if subscription is not None else None
    device.service_id = service_id if subscription is not None else None
    if warehouse is not None:
        device.holder_organisation_id = warehouse.organisation_id
    elif subscription is not None:
        device.holder_organisation_id = subscription.organisation_id
    device.version += 1
    session.add(movement)
    session.flush()
    return movement


def announce(session: Session, event_type: str, device: Device, movement: StockMovement) -> None:
    """Record ``event_type`` about ``device`` after ``movement``, for the subscriber's organisation (the
    one whose subscription it reached or left)."""
    sub = session.get(Subscription, movement.subscription_id) if movement.subscription_id else None
    organisation = account_organisation(session, sub.account_id) if sub else device.operator_id
    data = {
        "id": device.id,
        "serial": device.serial,
        "product_code": device.product_code,
        "state": device.state,
        "subscription_id": movement.subscription_id,
        "service_id": movement.service_id,
        "warehouse_id": device.warehouse_id,
        "movement_id": movement.id,
        "reason": movement.reason,
    }
    record(session, BusinessEvent(event_type, organisation, "device", device.id, data))


def pick_free_device(
    session: Session, operator_id: str, product_code: str, warehouse_id: str | None
) -> Device:
    """The oldest device of a product in stock, skipping rows another transaction holds."""
    stmt = select(Device).where(
        Device.operator_id == operator_id,
        Device.product_code == product_code,
        Device.state == DeviceState.IN_STOCK.value,
    )
    if warehouse_id is not None:
        stmt = stmt.where(Device.warehouse_id == warehouse_id)
    device = session.execute(
        stmt.order_by(Device.id).limit(1).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if device is None:
        where = f" in warehouse {warehouse_id}" if warehouse_id else ""
        raise Conflict("out_of_stock", f"no {product_code} device is in stock{where}")
    return device


def reserve(
    session: Session,
    who: Who,
    *,
    key: str,
    operator_id: str,
    subscription_id: str,
    service_id: str,
    product_code: str | None = None,
    device_id: str | None = None,
    warehouse_id: str | None = None,
) -> tuple[Device, StockMovement]:
    """Reserve a named device, or pick a free one of a product; the same key twice is one reservation."""
    done = movement_by_key(session, key)
    if done is not None and done.device_id is not None:
        return locked_device(session, done.device_id), done
    subscription = subscription_of(session, subscription_id)
    if device_id is not None:
        device = locked_device(session, device_id, operator_id)
        check_available(device.id, DeviceState(device.state))
    else:
        if product_code is None:
            raise Conflict("device_unspecified", "name a device or a product to reserve")
        device = pick_free_device(session, operator_id, product_code, warehouse_id)
    assert device.warehouse_id is not None
    warehouse = warehouse_of(session, device.warehouse_id, operator_id)
    movement = move(
        session,
        device,
        DeviceState.RESERVED,
        MovementKind.RESERVE,
        who,
        warehouse=warehouse,
        subscription=subscription,
        service_id=service_id,
        key=key,
    )
    return device, movement


def release(session: Session, who: Who, *, key: str, device_id: str, reservation_key: str) -> Device:
    """Undo a reservation: the device goes back in stock. Released already (or never): no change."""
    device = locked_device(session, device_id)
    if movement_by_key(session, key) is not None:
        return device
    reservation = movement_by_key(session, reservation_key)
    if (
        reservation is None
        or device.state != DeviceState.RESERVED.value
        or device.subscription_id != reservation.subscription_id
    ):
        return device
    assert device.warehouse_id is not None
    warehouse = warehouse_of(session, device.warehouse_id, device.operator_id)
    move(session, device, DeviceState.IN_STOCK, MovementKind.RELEASE, who, warehouse=warehouse, key=key)
    return device


def dispatch(
    session: Session,
    device: Device,
    who: Who,
    *,
    subscription_id: str,
    service_id: str,
    key: str | None = None,
    reason: str | None = None,
) -> StockMovement:
    """Hand a device to a subscriber: one in stock, or one reserved for this very subscription."""
    state = DeviceState(device.state)
    if state is DeviceState.RESERVED and device.subscription_id != subscription_id:
        raise Conflict("device_not_available", f"device {device.id} is reserved for another subscription")
    if state is not DeviceState.RESERVED:
        check_available(device.id, state)
    subscription = subscription_of(session, subscription_id)
    movement = move(
        session,
        device,
        DeviceState.ASSIGNED,
        MovementKind.DISPATCH,
        who,
        subscription=subscription,
        service_id=service_id,
        reason=reason,
        key=key,
    )
    announce(session, "device.dispatched", device, movement)
    return movement


def take_back(
    session: Session,
    device: Device,
    target: DeviceState,
    who: Who,
    *,
    warehouse: Warehouse | None,
    reason: str | None = None,
    key: str | None = None,
    credit_rental: bool = True,
) -> StockMovement:
    """A device leaves its subscriber: returned to a warehouse (in stock, in repair) or lost/stolen.
    Its rental ends: the unused days billed are credited (``credit_rental``; not in a swap, where the
    rental goes on with the replacement)."""
    if device.state != DeviceState.ASSIGNED.value:
        raise Conflict("device_not_assigned", f"device {device.id} is {device.state}, not with a subscriber")
    kind = MovementKind.STATE_CHANGE if target is DeviceState.LOST_STOLEN else MovementKind.RETURN
    if target is not DeviceState.LOST_STOLEN and warehouse is None:
        raise Conflict("warehouse_required", f"returning device {device.id} needs a warehouse")
    movement = move(
        session,
        device,
        target,
        kind,
        who,
        warehouse=warehouse if target is not DeviceState.LOST_STOLEN else None,
        reason=reason,
        key=key,
    )
    if credit_rental:
        credit_returned_rental(session, movement)
    lost = target is DeviceState.LOST_STOLEN
    announce(session, "device.lost_stolen" if lost else "device.returned", device, movement)
    return movement

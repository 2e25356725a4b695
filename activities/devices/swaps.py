"""Device swaps in stock and money: the swap fee, the stock movements of a swap and their undoing,
and a device fee on the subscriber's next bill. One transaction each, idempotent by the request's key.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.devices import moves, stolen
from activities.devices.io import (
    DeviceFeeInput,
    DeviceFeeRecorded,
    DeviceStateOut,
    SwapFee,
    SwapFeeInput,
    SwapStock,
    SwapStockInput,
)
from activities.devices.moves import Who
from activities.events.outbox import record
from activities.events.snapshots import account_organisation
from domain.currency import minor_units
from domain.devices import DAMAGE_FEE_CODE, DeviceState, MovementKind, SwapReason, swap_fee_minor
from domain.errors import Conflict
from domain.events import BusinessEvent
from domain.ids import new_id
from models.catalog import PlanVersion
from models.devices import Device
from models.subscriptions import PendingCharge, Subscription


def state_of(device: Device) -> DeviceStateOut:
    """The device's id and state, as activities answer them."""
    return DeviceStateOut(device_id=device.id, state=device.state)


def swap_fee(session: Session, request: SwapFeeInput) -> SwapFee:
    """The fee for a swap: none unless damaged; the request's amount or the plan's damage fee."""
    plan = session.execute(
        select(PlanVersion).where(
            PlanVersion.organisation_id == request.operator_id,
            PlanVersion.code == request.plan_code,
            PlanVersion.version == request.plan_version,
        )
    ).scalar_one_or_none()
    fees = plan.spec.get("one_off_fees", []) if plan is not None else []
    price = next((f["prices"].get(request.currency) for f in fees if f["code"] == DAMAGE_FEE_CODE), None)
    amount = swap_fee_minor(
        request.reason,
        request.currency,
        requested_minor=request.fee_amount_minor,
        catalogue_fee=Decimal(str(price)) if price is not None else None,
    )
    category = str(plan.spec.get("tax_category", "standard")) if plan is not None else "standard"
    return SwapFee(amount_minor=amount, currency=request.currency, tax_category=category)


def complete_swap(session: Session, request: SwapStockInput) -> SwapStock:
    """In one transaction: the replacement to the subscriber, the old device to repair or lost/stolen.
    A stolen device its ticket marked lost/stolen already keeps that one movement (none is added); one
    that a swap replaced already refuses a second replacement (409 ``device_already_replaced``)."""
    who = Who(request.actor, request.process_id)
    new = moves.locked_device(session, request.new_device_id)
    old = moves.locked_device(session, request.old_device_id)
    if moves.movement_by_key(session, f"{request.idempotency_key}:new") is not None:
        return SwapStock(old=state_of(old), new=state_of(new))
    target = DeviceState.LOST_STOLEN if request.reason is SwapReason.STOLEN else DeviceState.IN_REPAIR
    marked_already = target is DeviceState.LOST_STOLEN and old.state == target.value
    if marked_already and stolen.replaced(session, old, request.reason.value):
        raise Conflict("device_already_replaced", f"a swap already replaced stolen device {old.id}")
    source = new.warehouse_id
    moves.dispatch(
        session,
        new,
        who,
        subscription_id=request.subscription_id,
        service_id=request.service_id,
        key=f"{request.idempotency_key}:new",
        reason=stolen.replacement_reason(old.id, request.reason.value),
    )
    if not marked_already:
        warehouse_id = request.return_warehouse_id or source
        warehouse = (
            moves.warehouse_of(session, warehouse_id or "", old.operator_id)
            if target is DeviceState.IN_REPAIR
            else None
        )
        moves.take_back(
            session,
            old,
            target,
            who,
            warehouse=warehouse,
            reason=f"swap: {request.reason.value}",
            key=f"{request.idempotency_key}:old",
            credit_rental=False,  # a swap: the rental goes on with the replacement
        )
    _record_swap(session, request, old, new)
    return SwapStock(old=state_of(old), new=state_of(new))


def _record_swap(session: Session, request: SwapStockInput, old: Device, new: Device) -> None:
    """``device.swapped`` about the subscription whose device was replaced."""
    sub = session.get(Subscription, request.subscription_id)
    assert sub is not None
    data = {
        "subscription_id": sub.id,
        "service_id": request.service_id,
        "reason": request.reason.value,
        "old_device": {"id": old.id, "state": old.state},
        "new_device": {"id": new.id, "state": new.state},
    }
    org = account_organisation(session, sub.account_id)
    record(session, BusinessEvent("device.swapped", org, "subscription", sub.id, data))


def undo_swap(session: Session, request: SwapStockInput) -> SwapStock:
    """Compensation: the old device back with the subscriber (unless stolen: it stays lost/stolen), the
    replacement back where it came from."""
    who = Who(request.actor, request.process_id)
    new = moves.locked_device(session, request.new_device_id)
    old = moves.locked_device(session, request.old_device_id)
    dispatched = moves.movement_by_key(session, f"{request.idempotency_key}:new")
    undo = f"{request.idempotency_key}:undo"
    if dispatched is None or moves.movement_by_key(session, f"{undo}:new") is not None:
        return SwapStock(old=state_of(old), new=state_of(new))
    if request.reason is not SwapReason.STOLEN:  # a stolen device is never put back in service
        subscription = moves.subscription_of(session, request.subscription_id)
        moves.move(
            session,
            old,
            DeviceState.ASSIGNED,
            MovementKind.RETURN,
            who,
            subscription=subscription,
            service_id=request.service_id,
            reason="swap undone",
            key=f"{undo}:old",
        )
    home = moves.warehouse_of(session, dispatched.from_warehouse_id or "", new.operator_id)
    moves.take_back(
        session,
        new,
        DeviceState.IN_STOCK,
        who,
        warehouse=home,
        reason="swap undone",
        key=f"{undo}:new",
        credit_rental=False,
    )
    return SwapStock(old=state_of(old), new=state_of(new))


def device_fee(session: Session, request: DeviceFeeInput) -> DeviceFeeRecorded:
    """A pending one-off charge on the subscriber's next bill; the same key twice is one charge."""
    found = session.execute(
        select(PendingCharge).where(PendingCharge.idempotency_key == request.idempotency_key)
    ).scalar_one_or_none()
    if found is None:
        found = PendingCharge(
            id=new_id("chg"),
            account_id=request.account_id,
            subscription_id=request.subscription_id,
            service_id=request.service_id,
            kind="device_fee",
            description=request.description,
            quantity="1",
            unit_price=str(Decimal(request.amount_minor).scaleb(-minor_units(request.currency))),
            amount_minor=request.amount_minor,
            currency=request.currency,
            tax_category=request.tax_category,
            status="pending",
            idempotency_key=request.idempotency_key,
        )
        session.add(found)
        session.flush()
    return DeviceFeeRecorded(charge_id=found.id, amount_minor=found.amount_minor, currency=found.currency)

"""Device activities for processes (onboarding, device swap): reserve, release, swap stock, fees.

Each runs in one database transaction and is idempotent by its key: a retry finds the movement or
charge it already wrote and answers the same. A broken rule (nothing in stock, a device that is not
where it should be) is a non-retryable ``ApplicationError`` whose ``type`` is the rule's code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.devices import moves
from activities.devices.io import (
    DeviceFeeInput,
    DeviceFeeRecorded,
    DeviceStateOut,
    DispatchDeviceInput,
    ReleaseDeviceInput,
    ReservedDevice,
    ReserveDeviceInput,
    SwapFee,
    SwapFeeInput,
    SwapStock,
    SwapStockInput,
)
from activities.devices.moves import Who
from domain.currency import minor_units
from domain.devices import DAMAGE_FEE_CODE, DeviceState, MovementKind, SwapReason, swap_fee_minor
from domain.errors import RuleViolation
from domain.ids import new_id
from models.base import unit_of_work
from models.catalog import PlanVersion
from models.devices import Device
from models.subscriptions import PendingCharge
from runtime.settings import Settings


@contextmanager
def rules_as_application_errors() -> Iterator[None]:
    try:
        yield
    except RuleViolation as exc:
        raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from exc


def _state(device: Device) -> DeviceStateOut:
    return DeviceStateOut(device_id=device.id, state=device.state)


class DeviceActivities:
    """Sync activities, run by the worker on its thread pool."""

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: device activities need the database")
        self.database_url: str = settings.database_url

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with rules_as_application_errors(), unit_of_work(self.database_url) as session:
            yield session

    @activity.defn(name="reserve_device")
    def reserve_device(self, request: ReserveDeviceInput) -> ReservedDevice:
        """Reserve a named device, or the oldest free one of a product (skipping locked rows)."""
        with self._transaction() as session:
            device, _ = moves.reserve(
                session,
                Who(request.actor, request.process_id),
                key=request.idempotency_key,
                operator_id=request.operator_id,
                subscription_id=request.subscription_id,
                service_id=request.service_id,
                product_code=request.product_code,
                device_id=request.device_id,
                warehouse_id=request.warehouse_id,
            )
            assert device.warehouse_id is not None
            return ReservedDevice(
                device_id=device.id,
                serial=device.serial,
                mac=device.mac,
                smartcard_id=device.smartcard_id,
                product_code=device.product_code,
                warehouse_id=device.warehouse_id,
                reservation_key=request.idempotency_key,
            )

    @activity.defn(name="dispatch_device")
    def dispatch_device(self, request: DispatchDeviceInput) -> DeviceStateOut:
        """Hand a device reserved for this subscription to the subscriber (once per key)."""
        with self._transaction() as session:
            if moves.movement_by_key(session, request.idempotency_key) is None:
                device = moves.locked_device(session, request.device_id)
                moves.dispatch(
                    session,
                    device,
                    Who(request.actor, request.process_id),
                    subscription_id=request.subscription_id,
                    service_id=request.service_id,
                    key=request.idempotency_key,
                )
            device = moves.locked_device(session, request.device_id)
            return DeviceStateOut(device_id=device.id, state=device.state)

    @activity.defn(name="release_device")
    def release_device(self, request: ReleaseDeviceInput) -> DeviceStateOut:
        """Undo a reservation (a no-op when it was released already or never made)."""
        with self._transaction() as session:
            device = moves.release(
                session,
                Who(request.actor, request.process_id),
                key=request.idempotency_key,
                device_id=request.device_id,
                reservation_key=request.reservation_key,
            )
            return _state(device)

    @activity.defn(name="quote_swap_fee")
    def quote_swap_fee(self, request: SwapFeeInput) -> SwapFee:
        """The fee for a swap: none unless damaged; the request's amount or the plan's damage fee."""
        with self._transaction() as session:
            plan = session.execute(
                select(PlanVersion).where(
                    PlanVersion.organisation_id == request.operator_id,
                    PlanVersion.code == request.plan_code,
                    PlanVersion.version == request.plan_version,
                )
            ).scalar_one_or_none()
            fees = plan.spec.get("one_off_fees", []) if plan is not None else []
            price = next(
                (f["prices"].get(request.currency) for f in fees if f["code"] == DAMAGE_FEE_CODE), None
            )
            amount = swap_fee_minor(
                request.reason,
                request.currency,
                requested_minor=request.fee_amount_minor,
                catalogue_fee=Decimal(str(price)) if price is not None else None,
            )
            category = str(plan.spec.get("tax_category", "standard")) if plan is not None else "standard"
            return SwapFee(amount_minor=amount, currency=request.currency, tax_category=category)

    @activity.defn(name="complete_swap_stock")
    def complete_swap_stock(self, request: SwapStockInput) -> SwapStock:
        """In one transaction: the replacement to the subscriber, the old device to repair or lost/stolen."""
        with self._transaction() as session:
            who = Who(request.actor, request.process_id)
            new = moves.locked_device(session, request.new_device_id)
            old = moves.locked_device(session, request.old_device_id)
            if moves.movement_by_key(session, f"{request.idempotency_key}:new") is not None:
                return SwapStock(old=_state(old), new=_state(new))
            source = new.warehouse_id
            moves.dispatch(
                session,
                new,
                who,
                subscription_id=request.subscription_id,
                service_id=request.service_id,
                key=f"{request.idempotency_key}:new",
            )
            target = DeviceState.LOST_STOLEN if request.reason is SwapReason.STOLEN else DeviceState.IN_REPAIR
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
            return SwapStock(old=_state(old), new=_state(new))

    @activity.defn(name="undo_swap_stock")
    def undo_swap_stock(self, request: SwapStockInput) -> SwapStock:
        """Compensation: the old device back with the subscriber, the replacement back where it came from."""
        with self._transaction() as session:
            who = Who(request.actor, request.process_id)
            new = moves.locked_device(session, request.new_device_id)
            old = moves.locked_device(session, request.old_device_id)
            dispatched = moves.movement_by_key(session, f"{request.idempotency_key}:new")
            undo = f"{request.idempotency_key}:undo"
            if dispatched is None or moves.movement_by_key(session, f"{undo}:new") is not None:
                return SwapStock(old=_state(old), new=_state(new))
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
            return SwapStock(old=_state(old), new=_state(new))

    @activity.defn(name="record_device_fee")
    def record_device_fee(self, request: DeviceFeeInput) -> DeviceFeeRecorded:
        """A pending one-off charge on the subscriber's next bill; the same key twice is one charge."""
        with self._transaction() as session:
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
            return DeviceFeeRecorded(
                charge_id=found.id, amount_minor=found.amount_minor, currency=found.currency
            )

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.reserve_device,
            self.release_device,
            self.dispatch_device,
            self.quote_swap_fee,
            self.complete_swap_stock,
            self.undo_swap_stock,
            self.record_device_fee,
        ]


__all__ = [
    "DeviceActivities",
    "DeviceFeeInput",
    "DeviceFeeRecorded",
    "DeviceStateOut",
    "ReleaseDeviceInput",
    "ReserveDeviceInput",
    "ReservedDevice",
    "SwapFee",
    "SwapFeeInput",
    "SwapStock",
    "SwapStockInput",
]

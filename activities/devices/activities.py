"""Device activities for Temporal (onboarding, device swap): reserve, release, swap stock, fees.

Each runs in one database transaction and is idempotent by its key: a retry finds the movement or
charge it already wrote and answers the same. A broken rule (nothing in stock, a device that is not
where it should be) is a non-retryable ``ApplicationError`` whose ``type`` is the rule's code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.devices import io, moves, swaps
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
from domain.errors import RuleViolation
from models.base import unit_of_work
from runtime.settings import Settings


@contextmanager
def rules_as_application_errors() -> Iterator[None]:
    """A broken business rule becomes a non-retryable ApplicationError typed with the rule's code."""
    try:
        yield
    except RuleViolation as exc:
        raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from exc


class DeviceActivities(io.DeviceActivities):
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
            return swaps.state_of(device)

    @activity.defn(name="quote_swap_fee")
    def quote_swap_fee(self, request: SwapFeeInput) -> SwapFee:
        """The fee for a swap: none unless damaged; the request's amount or the plan's damage fee."""
        with self._transaction() as session:
            return swaps.swap_fee(session, request)

    @activity.defn(name="complete_swap_stock")
    def complete_swap_stock(self, request: SwapStockInput) -> SwapStock:
        """In one transaction: the replacement to the subscriber, the old device to repair or lost/stolen."""
        with self._transaction() as session:
            return swaps.complete_swap(session, request)

    @activity.defn(name="undo_swap_stock")
    def undo_swap_stock(self, request: SwapStockInput) -> SwapStock:
        """Compensation: the old device back with the subscriber, the replacement back where it came from."""
        with self._transaction() as session:
            return swaps.undo_swap(session, request)

    @activity.defn(name="record_device_fee")
    def record_device_fee(self, request: DeviceFeeInput) -> DeviceFeeRecorded:
        """A pending one-off charge on the subscriber's next bill; the same key twice is one charge."""
        with self._transaction() as session:
            return swaps.device_fee(session, request)

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


__all__ = ["DeviceActivities", "rules_as_application_errors"]

"""A stolen device, inside the caller's transaction: marked lost/stolen at once (a stolen-device ticket),
the subscriber it was taken from (its swap finds them), and whether a swap already replaced it.

The mark is one ``state_change`` movement (``assigned`` → ``lost_stolen``) that keeps the subscription
and service the device left; the device row, which a lost device never ties to a subscriber, no longer
does. The rental goes on (no credit): the replacement of the swap carries it, as in any swap.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.devices.moves import Who, movement_by_key, take_back
from domain.devices import DeviceState, MovementKind
from models.devices import Device, StockMovement


def replacement_reason(device_id: str, reason: str) -> str:
    """The reason a swap writes on its replacement's dispatch: it names the device it replaces."""
    return f"swap of {device_id}: {reason}"


def mark_stolen(session: Session, device: Device, who: Who, *, key: str, reason: str) -> StockMovement | None:
    """``assigned`` → ``lost_stolen`` with its movement; ``None`` when it is lost/stolen already (a repeated
    request, or a swap that moved it first): nothing changes, and it is never put back in service."""
    if movement_by_key(session, key) is not None or device.state == DeviceState.LOST_STOLEN.value:
        return None
    return take_back(
        session,
        device,
        DeviceState.LOST_STOLEN,
        who,
        warehouse=None,
        reason=reason,
        key=key,
        credit_rental=False,
    )


def stolen_from(session: Session, device: Device) -> StockMovement | None:
    """The movement that took a lost/stolen device from its subscriber (``subscription_id``,
    ``service_id``), when that is the device's last movement and no process made it (a swap that moved
    it replaced it already, as does one that dispatched a replacement); else ``None``."""
    if device.state != DeviceState.LOST_STOLEN.value:
        return None
    last = session.execute(
        select(StockMovement)
        .where(StockMovement.device_id == device.id)
        .order_by(StockMovement.at.desc(), StockMovement.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if (
        last is None
        or last.kind != MovementKind.STATE_CHANGE.value
        or last.from_state != DeviceState.ASSIGNED.value
        or last.subscription_id is None
        or last.service_id is None
        or last.process_id is not None
        or replaced(session, device, "stolen")
    ):
        return None
    return last


def replaced(session: Session, device: Device, reason: str) -> bool:
    """Whether a swap already handed over a replacement for the device."""
    stmt = select(StockMovement.id).where(
        StockMovement.operator_id == device.operator_id,
        StockMovement.kind == MovementKind.DISPATCH.value,
        StockMovement.reason == replacement_reason(device.id, reason),
    )
    return session.execute(stmt.limit(1)).first() is not None

"""Mobile lines (service kind ``mobile``): the SIM and the line's number an MVNO order needs, from the
warehouse.

An order names its device by id at most (onboarding's reserved SIM, a swap's new SIM) and none at all for
dunning's suspend or a termination. ``with_sim_line`` fills in the SIM's ``iccid`` and ``imsi`` and the line's
``msisdn``: the number of the SIM assigned to the service (the live line: a swap keeps it), else the SIM's
own number (a first activation); an order naming no SIM before it is dispatched (an onboarding's
compensation) takes the SIM reserved for the service. ``after_line_order`` keeps the warehouse in step
once the host has done an order: a swapped-in SIM takes the line's number from the old one, a ported-in
number replaces the SIM's own, a terminated line gives its number up.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.provisioning.io import OrderInput
from domain.provisioning import ProvisioningAction
from models.base import unit_of_work
from models.devices import Device, DeviceModel

MOBILE = "mobile"


def _device_id(device: dict[str, Any]) -> str | None:
    found = device.get("device_id") or device.get("id")
    return str(found) if found else None


def _line_sim(session: Session, service_id: str) -> Device | None:
    """The SIM assigned to the service that carries its number (the live line)."""
    return (
        session.execute(
            select(Device)
            .join(DeviceModel, DeviceModel.id == Device.model_id)
            .where(
                DeviceModel.kind == "sim",
                Device.service_id == service_id,
                Device.state == "assigned",
                Device.msisdn.is_not(None),
            )
            .order_by(Device.updated_at.desc(), Device.id)
        )
        .scalars()
        .first()
    )


def _reserved_sim(session: Session, service_id: str) -> Device | None:
    """The SIM held for the service before it is dispatched (an onboarding's compensation names none)."""
    return (
        session.execute(
            select(Device)
            .join(DeviceModel, DeviceModel.id == Device.model_id)
            .where(DeviceModel.kind == "sim", Device.service_id == service_id, Device.state == "reserved")
            .order_by(Device.updated_at.desc(), Device.id)
        )
        .scalars()
        .first()
    )


def with_sim_line(database_url: str, order: OrderInput) -> OrderInput:
    """The order with its SIM (``iccid``, ``imsi``) and line number (``msisdn``), for a mobile service."""
    if order.service_kind != MOBILE:
        return order
    with unit_of_work(database_url) as session:
        return sim_line_in(session, order)


def sim_line_in(session: Session, order: OrderInput) -> OrderInput:
    """``with_sim_line`` in the caller's transaction."""
    if order.service_kind != MOBILE:
        return order
    device = dict(order.device or {})
    named = _device_id(device)
    sim = session.get(Device, named) if named else None
    line = _line_sim(session, order.service_id)
    sim = sim or line or _reserved_sim(session, order.service_id)
    if sim is not None:
        device.setdefault("device_id", sim.id)
        device["iccid"], device["imsi"] = sim.iccid, sim.imsi
    msisdn = line.msisdn if line is not None else sim.msisdn if sim is not None else None
    if msisdn:
        device["msisdn"] = msisdn
    return order.model_copy(update={"device": device or None})


def after_line_order(database_url: str, order: OrderInput) -> None:
    """Record on the SIMs what the host has just done (once the order is done; safe to repeat)."""
    if order.service_kind != MOBILE or _device_id(order.device or {}) is None:
        return
    with unit_of_work(database_url) as session:
        line_order_done(session, order)


def line_order_done(session: Session, order: OrderInput) -> None:
    """``after_line_order`` in the caller's transaction (``order`` as ``sim_line_in`` filled it)."""
    device = order.device or {}
    named = _device_id(device)
    if order.service_kind != MOBILE or named is None:
        return
    sim = session.get(Device, named, with_for_update=True)
    if sim is None:
        return
    if order.action is ProvisioningAction.ACTIVATE and device.get("swap") == "install":
        line = _line_sim(session, order.service_id)
        if line is not None and line.id != sim.id:
            number, line.msisdn = line.msisdn, None
            session.flush()
            sim.msisdn = number
    elif order.action is ProvisioningAction.ACTIVATE:
        port = order.characteristics.get("port_in")
        if isinstance(port, dict) and sim.msisdn != port.get("msisdn"):
            sim.msisdn = str(port["msisdn"])
    elif order.action is ProvisioningAction.TERMINATE and device.get("swap") is None:
        sim.msisdn = None

"""SIM cards received into the warehouse: a device model of kind ``sim``; each card carries its ICCID
(its serial, Luhn-checked), its IMSI (15 digits) and optionally the number paired with it (MSISDN, E.164).
All three are unique per operator: checked here for a clear answer, guarded by the database's unique
constraints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.errors import Conflict, RuleViolation
from domain.telephony import iccid_problem, imsi_problem, msisdn_problem
from models.devices import Device

SIM_FIELDS = ("iccid", "imsi", "msisdn")


def checked_sim_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch's SIMs, each with its serial (its ICCID); a bad or repeated ICCID/IMSI/MSISDN refuses all."""
    checked = []
    for position, item in enumerate(items):
        iccid, imsi, msisdn = item.get("iccid"), item.get("imsi"), item.get("msisdn")
        if not iccid or not imsi:
            missing = "iccid" if not iccid else "imsi"
            raise RuleViolation(
                "field_required", f"a SIM needs its {missing}", field=f"items[{position}].{missing}"
            )
        for field, problem in (
            ("iccid", iccid_problem(iccid)),
            ("imsi", imsi_problem(imsi)),
            ("msisdn", msisdn_problem(msisdn) if msisdn else None),
        ):
            if problem is not None:
                raise RuleViolation(
                    f"invalid_{field}", f"{item[field]!r}: {problem}", field=f"items[{position}].{field}"
                )
        if item.get("serial") not in (None, iccid):
            raise RuleViolation(
                "serial_is_iccid", "a SIM's serial is its ICCID", field=f"items[{position}].serial"
            )
        checked.append({**item, "serial": iccid})
    for field in SIM_FIELDS:
        values = [item[field] for item in checked if item.get(field)]
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise RuleViolation(
                f"duplicate_{field}", f"{field} {repeated[0]} appears twice in the batch", field="items"
            )
    return checked


def known_sims(session: Session, operator_id: str, items: list[dict[str, Any]]) -> None:
    """Refuse (409) SIMs whose ICCID, IMSI or number the operator already has."""
    for field in SIM_FIELDS:
        column = getattr(Device, field)
        values = [item[field] for item in items if item.get(field)]
        if not values:
            continue
        found = sorted(
            session.execute(
                select(column).where(Device.operator_id == operator_id, or_(column.in_(values)))
            ).scalars()
        )
        if found:
            raise Conflict(f"{field}_exists", f"{field} {', '.join(found)} is already registered")

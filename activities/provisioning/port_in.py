"""Number port-in asked for at onboarding: a subscriber ordering a mobile plan keeps the number they have
at another operator (the donor) instead of taking the SIM's own.

``PortInRequest`` is the part of the onboarding request that asks for it (an order item's ``port_in``);
``checked_port_in`` refuses bad input (422 with a code naming the field, 409 for a number already on one
of our SIMs) and gives the ``port_in`` characteristic the MVNO adapter turns into a host ``port_in``
order (see integrations/provisioning/mvno/adapter.py); ``with_port_ins`` puts it on the services the
Onboarding process provisions, so its commands stay what they were.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.subscriptions.io import OnboardingInput, ServiceRef
from domain.errors import Conflict, RuleViolation
from domain.telephony import AUTHORISATION_CODE, DONOR_OPERATORS, known_donor, msisdn_problem
from models.devices import Device

MOBILE = "mobile"
PORT_IN = "port_in"


class PortInRequest(BaseModel):
    """Keep a number from another operator: port it in on ``port_date`` (default: the start date, or
    tomorrow if that is sooner: a port takes the donor a working day) instead of the SIM's own number."""

    model_config = ConfigDict(extra="forbid")

    msisdn: str = Field(max_length=32, description="the number to bring, E.164 (+ and 8 to 15 digits)")
    donor_operator: str = Field(max_length=64, description="the operator the number is with now")
    authorisation_code: str | None = Field(
        default=None, max_length=32, description="the porting code the donor gave the subscriber, if any"
    )
    port_date: date | None = Field(default=None, description="the porting day; today or later")


def checked_port_in(
    session: Session,
    request: PortInRequest,
    *,
    operator_id: str,
    product_kind: str,
    plan: str,
    start: date,
    today: date,
    field: str,
) -> dict[str, Any]:
    """The ``port_in`` characteristic of a mobile service, or a 4xx naming the field and the fix."""
    if product_kind != MOBILE:
        raise RuleViolation(
            "port_in_not_mobile",
            f"plan {plan} is a {product_kind} plan: only a mobile plan can port a number in",
            field=field,
        )
    problem = msisdn_problem(request.msisdn)
    if problem is not None:
        raise RuleViolation("invalid_msisdn", f"{request.msisdn!r} is not a number to port: {problem}",
                            field=f"{field}.msisdn")  # fmt: skip
    donor = known_donor(request.donor_operator)
    if donor is None:
        raise RuleViolation(
            "unknown_donor_operator",
            f"numbers are not ported from {request.donor_operator!r}; donors: {', '.join(DONOR_OPERATORS)}",
            field=f"{field}.donor_operator",
        )
    code = request.authorisation_code
    if code is not None and not AUTHORISATION_CODE.fullmatch(code):
        raise RuleViolation(
            "invalid_authorisation_code",
            "a porting authorisation code is 4 to 32 letters, digits or dashes",
            field=f"{field}.authorisation_code",
        )
    port_date = request.port_date or max(start, today + timedelta(days=1))
    if port_date < today:
        raise RuleViolation(
            "port_date_in_past",
            f"the port date {port_date} is before today ({today}): give today or a later day",
            field=f"{field}.port_date",
        )
    taken = session.execute(
        select(Device.id).where(Device.operator_id == operator_id, Device.msisdn == request.msisdn)
    ).first()
    if taken is not None:
        raise Conflict(
            "msisdn_in_use",
            f"{request.msisdn} is already the number of our SIM {taken[0]}: it needs no port-in",
            field=f"{field}.msisdn",
        )
    port: dict[str, Any] = {
        "msisdn": request.msisdn,
        "donor_operator": donor,
        "port_date": port_date.isoformat(),
    }
    if code is not None:
        port["authorisation_code"] = code
    return port


def with_port_ins(order: OnboardingInput, refs: list[ServiceRef]) -> list[ServiceRef]:
    """The services with the port-in their order item asked for (services are numbered as ordered)."""
    asked = {
        f"svc_{order.subscription_id[4:]}{index:02d}": item.characteristics[PORT_IN]
        for index, item in enumerate(order.services)
        if PORT_IN in item.characteristics
    }
    return [
        ref.model_copy(update={"characteristics": {**ref.characteristics, PORT_IN: asked[ref.service_id]}})
        if ref.service_id in asked
        else ref
        for ref in refs
    ]

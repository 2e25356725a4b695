"""Acme TV, a content provider for Multibill's partner billing, published under ``multibill.partners``: a
pull provider (we list its pending charges and accept or decline them in batches of at most 10), its
backend in memory. Only the public contract of ``integrations.partners.base`` is used: a second provider
is a package, not a fork."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from integrations.partners.base import (
    Decision,
    FailedDecision,
    Membership,
    PartnerCharge,
    PartnerConnection,
    PartnerError,
    SignUpLink,
    SubscribeRequest,
)

NAME = "acmetv"
# The backend, per Acme partner id: members by customer id, charges by number.
MEMBERS: dict[tuple[str, str], dict[str, Any]] = {}
CHARGES: dict[tuple[str, str], dict[str, Any]] = {}
BATCHES: list[tuple[str, int]] = []  # (partner id, decisions in the call)
_NUMBERS = itertools.count(1)
_LOCK = threading.Lock()


def post_charge(
    partner_id: str, customer_id: str, amount_minor: int, currency: str, paid_through: date
) -> str:
    """Acme bills a member (what its monthly run does): a PENDING charge; its number."""
    with _LOCK:
        number = f"ACME{next(_NUMBERS):06d}"
        CHARGES[(partner_id, number)] = {
            "customer_id": customer_id,
            "plan": MEMBERS.get((partner_id, customer_id), {}).get("plan", "BASIC"),
            "amount_minor": amount_minor,
            "currency": currency,
            "paid_through": paid_through,
            "status": "PENDING",
            "reference": None,
            "received_at": datetime.now(UTC),
        }
        return number


def complete_signup(partner_id: str, customer_id: str) -> None:
    with _LOCK:
        MEMBERS[(partner_id, customer_id)]["status"] = "ACTIVE"


class AcmeTvSession:
    def __init__(self, connection: PartnerConnection) -> None:
        self.partner = connection.partner_id

    def _member(self, customer_id: str) -> dict[str, Any]:
        found = MEMBERS.get((self.partner, customer_id))
        if found is None:
            raise PartnerError(NAME, "subscriber_not_found", f"no member {customer_id}")
        return found

    def _view(self, customer_id: str) -> Membership:
        m = self._member(customer_id)
        return Membership(
            customer_id=customer_id,
            status=m["status"],
            partner_plan=m["plan"],
            end_reason=m.get("end_reason"),
        )

    def subscribe(self, request: SubscribeRequest) -> SignUpLink:
        with _LOCK:
            key = (self.partner, request.customer_id)
            if key in MEMBERS and MEMBERS[key]["status"] != "ENDED":
                raise PartnerError(NAME, "membership_exists", f"{request.customer_id} is a member")
            MEMBERS[key] = {"status": "PENDING_SIGNUP", "plan": request.partner_plan}
        url = f"https://tv.acme.example/join/{self.partner}/{request.customer_id}"
        return SignUpLink(
            customer_id=request.customer_id,
            signup_url=url,
            expires_at=datetime.now(UTC) + timedelta(seconds=request.signup_validity_seconds),
        )

    def membership(self, customer_id: str) -> Membership:
        with _LOCK:
            return self._view(customer_id)

    def change_plan(self, customer_id: str, partner_plan: str) -> Membership:
        with _LOCK:
            self._member(customer_id)["plan"] = partner_plan
            return self._view(customer_id)

    def cancel(self, customer_id: str, reason: str) -> Membership:
        with _LOCK:
            member = self._member(customer_id)
            if member["status"] != "ENDED":
                member.update(status="ENDED", end_reason=reason)
            return self._view(customer_id)

    def pending_charges(self) -> list[PartnerCharge]:
        with _LOCK:
            return [
                PartnerCharge(
                    charge_number=number,
                    customer_id=c["customer_id"],
                    partner_plan=c["plan"],
                    amount_minor=c["amount_minor"],
                    currency=c["currency"],
                    local_amount_minor=c["amount_minor"],
                    local_currency=c["currency"],
                    paid_through=c["paid_through"],
                    received_at=c["received_at"],
                )
                for (partner, number), c in sorted(CHARGES.items())
                if partner == self.partner and c["status"] == "PENDING"
            ]

    def _decide(self, decisions: list[Decision], accept: bool) -> list[FailedDecision]:
        if not 1 <= len(decisions) <= AcmeTvProvider.max_batch:
            raise PartnerError(NAME, "batch_size", f"1..{AcmeTvProvider.max_batch} decisions per call")
        failed = []
        with _LOCK:
            BATCHES.append((self.partner, len(decisions)))
            for d in decisions:
                charge = CHARGES.get((self.partner, d.charge_number))
                if charge is None:
                    failed.append(
                        FailedDecision(
                            charge_number=d.charge_number,
                            error_code="NOT_FOUND",
                            description="no such charge",
                        )
                    )
                    continue
                if charge["status"] != "PENDING":
                    failed.append(
                        FailedDecision(
                            charge_number=d.charge_number,
                            error_code="ALREADY_PROCESSED",
                            description=charge["status"],
                        )
                    )
                    continue
                charge.update(status="APPROVED" if accept else d.status, reference=d.reference)
                if not accept:
                    MEMBERS[(self.partner, charge["customer_id"])].update(status="ENDED", end_reason=d.reason)
        return failed

    def accept(self, decisions: list[Decision]) -> list[FailedDecision]:
        return self._decide(decisions, True)

    def decline(self, decisions: list[Decision]) -> list[FailedDecision]:
        return self._decide(decisions, False)

    def close(self) -> None:
        pass


class AcmeTvProvider:
    name = NAME
    charges_by: Literal["pull", "push"] = "pull"
    max_batch = 10

    def __init__(self, settings: Any) -> None:
        self.settings = settings

    def connect(self, connection: PartnerConnection) -> AcmeTvSession:
        return AcmeTvSession(connection)

    def parse_pushed_charges(
        self, connection: PartnerConnection, headers: Mapping[str, str], body: bytes
    ) -> list[PartnerCharge]:
        raise PartnerError(NAME, "not_pushed", "Acme TV charges are pulled")

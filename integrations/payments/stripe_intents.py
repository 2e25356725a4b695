"""What a Stripe PaymentIntent's state means for a collection (pure; no API calls).

Every state Stripe documents is mapped explicitly; a state this table does not know is *pending*
(resolve it again later), never a decline, because only Stripe's own error says the card was refused.

- ``succeeded``: charged.
- ``processing``: pending, the payment method is still processing it.
- ``requires_capture``: pending, authorised; the capture is still to come.
- ``requires_action``: pending, the customer must authenticate (3-D Secure); a webhook or a later
  resolution settles it.
- ``requires_confirmation``: unconfirmed, created but never attempted (a crash between create and
  confirm): confirm it now, with the same attempt.
- ``requires_payment_method`` without an error: unconfirmed with no method on it: attach the method,
  then confirm.
- ``requires_payment_method`` with an error: declined (the card was refused, or authentication failed).
- ``canceled``: declined for this attempt (it can never charge); the next attempt, a new key, may.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from integrations.payments.base import ChargeResult, ChargeStatus


class IntentState(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    UNCONFIRMED = "unconfirmed"  # never attempted: confirm it
    NEEDS_METHOD = "needs_method"  # never attempted and no method on it: attach ours, then confirm
    DECLINED = "declined"


STATES: dict[str, IntentState] = {
    "succeeded": IntentState.SUCCEEDED,
    "processing": IntentState.PENDING,
    "requires_capture": IntentState.PENDING,
    "requires_action": IntentState.PENDING,
    "requires_confirmation": IntentState.UNCONFIRMED,
    "requires_payment_method": IntentState.NEEDS_METHOD,  # DECLINED when it carries an error
    "canceled": IntentState.DECLINED,
}


def state_of(intent: dict[str, Any]) -> IntentState:
    status = str(intent.get("status"))
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return IntentState.DECLINED
    return STATES.get(status, IntentState.PENDING)


def charge_result(intent: dict[str, Any]) -> ChargeResult:
    """The outcome of the intent as it stands (an unconfirmed one is reported pending: not charged)."""
    status = str(intent.get("status"))
    state = state_of(intent)
    if state is IntentState.SUCCEEDED:
        return ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=intent["id"])
    if state is IntentState.DECLINED:
        error = intent.get("last_payment_error") or {}
        return ChargeResult(
            status=ChargeStatus.DECLINED,
            gateway_reference=intent["id"],
            decline_code=error.get("decline_code") or error.get("code") or status,
            message=error.get("message") or f"payment intent is {status}",
        )
    return ChargeResult(
        status=ChargeStatus.PENDING,
        gateway_reference=intent["id"],
        message=f"payment intent is {status}: not charged yet, resolve it again later",
    )

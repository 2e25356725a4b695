"""Stripe webhooks: verify the signature, record each event id once, update the payment it concerns.

``payment_intent.succeeded`` settles a pending payment (allocation and ledger, as a collection does);
``payment_intent.payment_failed`` marks it failed. A duplicate event id changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from activities.payments import records as store
from activities.payments.gateway_webhooks import AppliedEvent, settled
from domain.errors import RuleViolation
from integrations.payments.stripe_gateway import KEY_FIELD
from models.base import unit_of_work
from models.payments import Payment, WebhookEvent


class BadSignature(RuleViolation):
    status = 400


def verify(payload: bytes, signature: str | None, secret: str | None) -> dict[str, Any]:
    """The event, if Stripe signed it with our webhook secret (else 400 ``invalid_signature``)."""
    if not secret:
        raise RuleViolation("webhooks_not_configured", "MULTIBILL_STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.Webhook.construct_event(payload, signature or "", secret)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(
            "invalid_signature", "the Stripe-Signature header does not match the payload"
        ) from exc
    except ValueError as exc:
        raise BadSignature("invalid_payload", "the webhook body is not a Stripe event") from exc
    event: dict[str, Any] = json.loads(payload)
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadSignature("invalid_payload", "the webhook body is not a Stripe event")
    return event


def _payment_for(session: Any, intent: dict[str, Any]) -> Payment | None:
    metadata = intent.get("metadata") or {}
    if metadata.get("payment_id"):
        found = session.execute(
            select(Payment).where(Payment.id == metadata["payment_id"]).with_for_update()
        ).scalar_one_or_none()
        if found is not None:
            return found
    if metadata.get(KEY_FIELD):
        return store.payment_by_key(session, str(metadata[KEY_FIELD]), lock=True)
    if intent.get("id"):
        return session.execute(
            select(Payment)
            .where(Payment.gateway == "stripe", Payment.gateway_reference == intent["id"])
            .with_for_update()
        ).scalar_one_or_none()
    return None


def handle_event(url: str, event: dict[str, Any]) -> AppliedEvent:
    """Apply a verified event once: what happened (``duplicate``, ``settled``, ``ignored``…) and the
    invoices a settled payment paid."""
    with unit_of_work(url) as session:
        inserted = session.execute(
            insert(WebhookEvent)
            .values(gateway="stripe", event_id=event["id"], event_type=event["type"], payload=event)
            .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
            .returning(WebhookEvent.id)
        ).first()
        if inserted is None:
            return AppliedEvent("duplicate")
        applied = AppliedEvent("ignored")
        intent = (event.get("data") or {}).get("object") or {}
        if event["type"] in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            payment = _payment_for(session, intent)
            if payment is None:
                applied = AppliedEvent("unknown_payment")
            elif event["type"] == "payment_intent.succeeded":
                applied = settled(session, payment, gateway_reference=intent.get("id"))
            else:
                error = intent.get("last_payment_error") or {}
                code = error.get("decline_code") or error.get("code") or "payment_failed"
                changed = store.fail(
                    session, payment, decline_code=code, message=str(error.get("message") or "")
                )
                applied = AppliedEvent("failed" if changed else "no_change")
        row = session.get(WebhookEvent, inserted[0])
        assert row is not None
        row.outcome = applied.outcome
        return applied

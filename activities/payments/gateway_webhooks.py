"""Incoming webhooks of any gateway that verifies its own (``WebhookVerifier``): ``POST /v1/webhooks/{name}``.

The gateway checks the signature and turns the body into a ``GatewayEvent``; each event id is recorded
once per gateway (a repeat changes nothing). An event that reports a charge's outcome settles the pending
payment (allocation and ledger, as a collection does) or marks it failed. Stripe keeps its own route
(stripe_webhooks.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.payments import records as store
from activities.payments.manual import allocations_of
from domain.errors import NotFound, RuleViolation
from integrations.payments.base import GatewayEvent, GatewayRegistry, WebhookRejected, WebhookVerifier
from models.base import unit_of_work
from models.payments import Payment, WebhookEvent

log = logging.getLogger(__name__)


class BadSignature(RuleViolation):
    status = 400


@dataclass(frozen=True)
class AppliedEvent:
    """What a gateway's event did: ``outcome`` (``duplicate``, ``settled``, ``failed``, ``ignored``…) and,
    for a payment it settled, the invoices that payment went to (their dunning is told to stop)."""

    outcome: str
    paid_invoice_ids: tuple[str, ...] = ()


def settled(session: Session, payment: Payment, *, gateway_reference: str | None) -> AppliedEvent:
    """Settle a pending payment from a gateway's event; the invoices it was allocated to."""
    if not store.settle(session, payment, gateway_reference=gateway_reference):
        return AppliedEvent("no_change")
    session.flush()
    invoices = tuple(sorted({a.invoice_id for a, _ in allocations_of(session, payment.id)}))
    return AppliedEvent("settled", invoices)


def verified_event(
    gateways: GatewayRegistry, gateway_name: str, headers: Mapping[str, str], body: bytes
) -> GatewayEvent:
    """The gateway's event, if it signed this body (404 for a gateway that sends no webhooks, 400 if not)."""
    try:
        gateway = gateways.get(gateway_name)
    except LookupError:
        raise NotFound("webhook_gateway", gateway_name) from None
    if not isinstance(gateway, WebhookVerifier):
        raise NotFound("webhook_gateway", gateway_name)
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        return gateway.parse_webhook(lowered, body)
    except WebhookRejected as exc:
        log.warning("refused a %s webhook (%d bytes): %s", gateway_name, len(body), exc)
        raise BadSignature("invalid_signature", f"the {gateway_name} webhook was refused: {exc}") from exc


def _payment_for(session: Session, gateway_name: str, event: GatewayEvent) -> Payment | None:
    if event.charge_reference:
        found = session.execute(
            select(Payment)
            .where(Payment.gateway == gateway_name, Payment.gateway_reference == event.charge_reference)
            .with_for_update()
        ).scalar_one_or_none()
        if found is not None:
            return found
    if event.idempotency_key:
        found = store.payment_by_key(session, event.idempotency_key, lock=True)
        if found is not None and found.gateway == gateway_name:
            return found
    return None


def apply_event(url: str, gateway_name: str, event: GatewayEvent) -> AppliedEvent:
    """Apply a verified event once: what happened, and the invoices a settled payment paid."""
    with unit_of_work(url) as session:
        inserted = session.execute(
            insert(WebhookEvent)
            .values(
                gateway=gateway_name,
                event_id=event.event_id,
                event_type=event.event_type,
                payload=event.payload,
            )
            .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
            .returning(WebhookEvent.id)
        ).first()
        if inserted is None:
            return AppliedEvent("duplicate")
        applied = AppliedEvent("ignored")
        if event.outcome is not None:
            payment = _payment_for(session, gateway_name, event)
            if payment is None:
                applied = AppliedEvent("unknown_payment")
            elif event.outcome == "succeeded":
                applied = settled(session, payment, gateway_reference=event.charge_reference)
            else:
                code = event.decline_code or "payment_failed"
                changed = store.fail(session, payment, decline_code=code, message=event.message)
                applied = AppliedEvent("failed" if changed else "no_change")
        row = session.get(WebhookEvent, inserted[0])
        assert row is not None
        row.outcome = applied.outcome
        return applied


def receive_webhook(
    url: str, gateways: GatewayRegistry, gateway_name: str, headers: Mapping[str, str], body: bytes
) -> tuple[GatewayEvent, AppliedEvent]:
    """Verify, then apply: the event and what happened."""
    event = verified_event(gateways, gateway_name, headers, body)
    return event, apply_event(url, gateway_name, event)

# acme_multibill/gateway.py
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from acme_multibill import acmepay  # AcmePay's client library (in the tests: a fake, in memory)
from integrations.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayEvent,
    GatewayUnavailable,
    MethodRegistration,
    MethodRejected,
    RefundRequest,
    RefundResult,
    RegisteredMethod,
    WebhookRejected,
)

STATUS = {"paid": ChargeStatus.SUCCEEDED, "declined": ChargeStatus.DECLINED, "pending": ChargeStatus.PENDING}


class AcmePayGateway:
    """AcmePay cards: registered from the token of AcmePay's form, charged, refunded, webhooks verified."""

    name = "acmepay"

    def __init__(self, settings: Any) -> None:
        self.api = acmepay.Client(
            os.environ.get("ACMEPAY_KEY", "sk_test_acme"),
            os.environ.get("ACMEPAY_WEBHOOK_SECRET", "whsec_test_acme"),
        )

    def register_method(self, request: MethodRegistration) -> RegisteredMethod:
        try:
            customer = request.customer or self.api.create_customer(
                request.email, idempotency_key=f"customer:{request.account_id}"
            )
            card = self.api.attach(customer, request.token)
        except acmepay.CardRefused as exc:
            raise MethodRejected(exc.code, str(exc)) from exc
        except acmepay.Timeout as exc:
            raise GatewayUnavailable(str(exc)) from exc
        return RegisteredMethod(
            customer=customer,
            token=card.id,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
        )

    def charge(self, request: ChargeRequest) -> ChargeResult:
        try:
            tx = self.api.charge(
                request.method_token,
                request.amount_minor,
                request.currency,
                idempotency_key=request.idempotency_key,
            )
        except acmepay.Timeout as exc:
            raise GatewayUnavailable(str(exc)) from exc
        return ChargeResult(status=STATUS[tx.status], gateway_reference=tx.id, decline_code=tx.code)

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        try:
            tx = self.api.find(idempotency_key=idempotency_key)
        except acmepay.Timeout as exc:
            raise GatewayUnavailable(str(exc)) from exc
        if tx is None:
            return None
        return ChargeResult(status=STATUS[tx.status], gateway_reference=tx.id, decline_code=tx.code)

    def refund(self, request: RefundRequest) -> RefundResult:
        try:
            r = self.api.refund(
                request.gateway_reference, request.amount_minor, idempotency_key=request.idempotency_key
            )
        except acmepay.Timeout as exc:
            raise GatewayUnavailable(str(exc)) from exc
        return RefundResult(status="succeeded" if r.ok else "failed", gateway_reference=r.id)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        if not self.api.verify(body, headers.get("acme-signature", "")):
            raise WebhookRejected("the Acme-Signature header does not match the body")
        try:
            event = json.loads(body)
            data = event["data"]
            outcome = {"charge.paid": "succeeded", "charge.declined": "failed"}.get(event["type"])
            return GatewayEvent(
                event_id=event["id"],
                event_type=event["type"],
                charge_reference=data.get("charge"),
                idempotency_key=data.get("idempotency_key"),
                outcome=outcome,
                decline_code=data.get("code"),
                payload=event,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("the body is not an AcmePay event") from exc

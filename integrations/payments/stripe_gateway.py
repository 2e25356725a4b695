"""Stripe: customers and PaymentMethods, off-session PaymentIntents, refunds (stripe-python).

Every charge sends the idempotency key both as Stripe's ``Idempotency-Key`` header and in the
PaymentIntent's metadata, so ``lookup`` can find the intent of an earlier attempt whose answer was lost
(search, or a scan of recent intents where search is unavailable, as in localstripe). Network
retries inside stripe-python are off: an unknown outcome is raised as ``GatewayUnavailable`` and the
caller resolves it with ``lookup`` instead of charging again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from integrations.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayUnavailable,
    RefundRequest,
    RefundResult,
)
from integrations.payments.cards import CardDetails, CardRejected

KEY_FIELD = "multibill_idempotency_key"
SCAN_LIMIT = 1000


@dataclass(frozen=True)
class StripeConfig:
    api_key: str
    api_base: str | None = None  # e.g. http://127.0.0.1:8420 for localstripe
    timeout_seconds: float = 20.0


def _intent_result(intent: Any) -> ChargeResult:
    status = str(intent.get("status"))
    if status == "succeeded":
        return ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=intent["id"])
    if status in ("processing", "requires_capture"):
        return ChargeResult(status=ChargeStatus.PENDING, gateway_reference=intent["id"])
    error = intent.get("last_payment_error") or {}
    return ChargeResult(
        status=ChargeStatus.DECLINED,
        gateway_reference=intent["id"],
        decline_code=error.get("decline_code") or error.get("code") or status,
        message=error.get("message") or f"payment intent is {status}",
    )


class StripeGateway:
    name = "stripe"

    def __init__(self, config: StripeConfig) -> None:
        self.config = config
        self._client: stripe.StripeClient | None = None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            bases: Any = {"api": self.config.api_base} if self.config.api_base else None
            self._client = stripe.StripeClient(
                self.config.api_key,
                base_addresses=bases,
                max_network_retries=0,
                http_client=stripe.RequestsClient(timeout=self.config.timeout_seconds),
            )
        return self._client

    # -- cards ---------------------------------------------------------------------------------------
    def register_card(
        self, *, account_id: str, email: str, name: str, token: str, customer: str | None
    ) -> CardDetails:
        try:
            if customer is None:
                created = self.client.v1.customers.create(
                    params={"email": email, "name": name, "metadata": {"account_id": account_id}},
                    options={"idempotency_key": f"customer:{account_id}"},
                )
                customer = str(created.id)
            method = self.client.v1.payment_methods.attach(token, params={"customer": customer})
        except stripe.CardError as exc:
            raise CardRejected(str(exc.code or "card_declined"), exc.user_message or str(exc)) from exc
        except stripe.InvalidRequestError as exc:
            raise CardRejected("invalid_card_token", f"the gateway does not know card {token}") from exc
        except stripe.APIConnectionError as exc:
            raise GatewayUnavailable(f"stripe did not answer: {exc}") from exc
        card = method.to_dict().get("card") or {}
        return CardDetails(
            customer=customer,
            token=str(method.id),
            brand=card.get("brand"),
            last4=card.get("last4"),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
        )

    # -- charges -------------------------------------------------------------------------------------
    def charge(self, request: ChargeRequest) -> ChargeResult:
        customer = request.metadata.get("stripe_customer")
        params: dict[str, Any] = {
            "amount": request.amount_minor,
            "currency": request.currency.lower(),
            "payment_method": request.method_token,
            "off_session": True,
            "confirm": True,
            "metadata": {
                **{k: v for k, v in request.metadata.items() if k != "stripe_customer"},
                KEY_FIELD: request.idempotency_key,
                "description": request.description,
                "account_id": request.account_id,
                "invoice_id": request.invoice_id or "",
            },
        }
        if customer:
            params["customer"] = customer
        try:
            intent = self.client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            error = exc.error
            return ChargeResult(
                status=ChargeStatus.DECLINED,
                gateway_reference=getattr(getattr(error, "payment_intent", None), "id", None),
                decline_code=(getattr(error, "decline_code", None) or exc.code or "card_declined"),
                message=exc.user_message or str(exc),
            )
        except stripe.APIConnectionError as exc:
            raise GatewayUnavailable(
                f"stripe did not answer charge {request.idempotency_key}: {exc}"
            ) from exc
        except stripe.InvalidRequestError as exc:
            return ChargeResult(status=ChargeStatus.FAILED, decline_code="invalid_request", message=str(exc))
        except (stripe.APIError, stripe.RateLimitError) as exc:
            raise GatewayUnavailable(f"stripe failed on charge {request.idempotency_key}: {exc}") from exc
        return _intent_result(intent.to_dict())

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        try:
            intent = self._find_intent(idempotency_key)
        except stripe.APIConnectionError as exc:
            raise GatewayUnavailable(f"stripe did not answer lookup {idempotency_key}: {exc}") from exc
        return None if intent is None else _intent_result(intent)

    def _find_intent(self, idempotency_key: str) -> Any | None:
        query = f"metadata['{KEY_FIELD}']:'{idempotency_key}'"
        try:
            found = self.client.v1.payment_intents.search(params={"query": query, "limit": 10})
            return found.data[0].to_dict() if found.data else None
        except stripe.InvalidRequestError:
            pass  # no search API (localstripe): scan recent intents
        page = self.client.v1.payment_intents.list(params={"limit": 100})
        for seen, intent in enumerate(page.auto_paging_iter()):
            if (intent.to_dict().get("metadata") or {}).get(KEY_FIELD) == idempotency_key:
                return intent.to_dict()
            if seen >= SCAN_LIMIT:
                break
        return None

    def refund(self, request: RefundRequest) -> RefundResult:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": request.gateway_reference, "amount": request.amount_minor},
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.APIConnectionError as exc:
            raise GatewayUnavailable(
                f"stripe did not answer refund {request.idempotency_key}: {exc}"
            ) from exc
        except stripe.InvalidRequestError as exc:
            return RefundResult(status="failed", message=str(exc))
        status = str(refund.to_dict().get("status"))
        mapped = "succeeded" if status == "succeeded" else "pending" if status == "pending" else "failed"
        return RefundResult(status=mapped, gateway_reference=str(refund.id))

    def list_intents(self) -> list[dict[str, Any]]:
        """Every PaymentIntent the account has (tests and reconciliation)."""
        page = self.client.v1.payment_intents.list(params={"limit": 100})
        return [intent.to_dict() for intent in page.auto_paging_iter()]

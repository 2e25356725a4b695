"""Stripe: customers and PaymentMethods, off-session PaymentIntents, refunds (stripe-python).

A charge is staged (``StagedGateway``): the PaymentIntent is created unconfirmed, the caller stores its
id on the pending payment, then it is confirmed off-session. After a crash the caller resolves the
intent by that id: confirmed now if it never was, else its state mapped explicitly (stripe_intents.py);
an unfinished intent is never taken for a decline. The idempotency key travels as Stripe's
``Idempotency-Key`` header (create; ``<key>:confirm`` for the confirmation) and in the intent's
metadata, where ``lookup`` finds it by Stripe's search (never by scanning recent intents). Network
retries inside stripe-python are off: an unknown outcome is raised as ``GatewayUnavailable``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import stripe

from integrations.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayUnavailable,
    MethodRegistration,
    MethodRejected,
    RefundRequest,
    RefundResult,
    RegisteredMethod,
)
from integrations.payments.stripe_intents import IntentState, charge_result, state_of

KEY_FIELD = "multibill_idempotency_key"


@dataclass(frozen=True)
class StripeConfig:
    api_key: str
    api_base: str | None = None  # e.g. http://127.0.0.1:8420 for localstripe
    timeout_seconds: float = 20.0
    # Confirm as a merchant-initiated (off-session) payment. A backend that refuses the parameter on
    # confirm (localstripe) is answered without it from then on; tests against it switch it off.
    off_session_on_confirm: bool = True


@contextmanager
def _unavailable_on_outage(what: str) -> Iterator[None]:
    """No answer, or Stripe's own failure: the outcome is unknown (the caller resolves it later)."""
    try:
        yield
    except stripe.APIConnectionError as exc:
        raise GatewayUnavailable(f"stripe did not answer {what}: {exc}") from exc
    except (stripe.APIError, stripe.RateLimitError) as exc:
        raise GatewayUnavailable(f"stripe failed on {what}: {exc}") from exc


class StripeGateway:
    name = "stripe"

    def __init__(self, config: StripeConfig) -> None:
        self.config = config
        self._client: stripe.StripeClient | None = None
        self._off_session_on_confirm = config.off_session_on_confirm

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
    def register_method(self, request: MethodRegistration) -> RegisteredMethod:
        """Create the Stripe customer once per account, attach the Stripe.js PaymentMethod (``pm_…``)."""
        account_id, token, customer = request.account_id, request.token, request.customer
        email, name = request.email, request.name
        try:
            if customer is None:
                created = self.client.v1.customers.create(
                    params={"email": email, "name": name, "metadata": {"account_id": account_id}},
                    options={"idempotency_key": f"customer:{account_id}"},
                )
                customer = str(created.id)
            method = self.client.v1.payment_methods.attach(token, params={"customer": customer})
        except stripe.CardError as exc:
            raise MethodRejected(str(exc.code or "card_declined"), exc.user_message or str(exc)) from exc
        except stripe.InvalidRequestError as exc:
            raise MethodRejected("invalid_card_token", f"the gateway does not know card {token}") from exc
        except stripe.APIConnectionError as exc:
            raise GatewayUnavailable(f"stripe did not answer: {exc}") from exc
        card = method.to_dict().get("card") or {}
        return RegisteredMethod(
            customer=customer,
            token=str(method.id),
            brand=card.get("brand"),
            last4=card.get("last4"),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
        )

    # -- charges -------------------------------------------------------------------------------------
    def open_charge(self, request: ChargeRequest) -> str:
        """Create the PaymentIntent unconfirmed (nothing is charged yet); its id, for the caller to store."""
        customer = request.metadata.get("stripe_customer")
        params: dict[str, Any] = {
            "amount": request.amount_minor,
            "currency": request.currency.lower(),
            "payment_method": request.method_token,
            "payment_method_types": ["card"],
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
        with _unavailable_on_outage(f"create {request.idempotency_key}"):
            intent = self.client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        return str(intent.id)

    def complete_charge(self, reference: str, request: ChargeRequest, *, fresh: bool = False) -> ChargeResult:
        """Confirm the intent if it never was (attaching the method when it has none), else map its
        state (integrations/payments/stripe_intents.py). Safe to repeat after any crash."""
        if not fresh:
            with _unavailable_on_outage(f"retrieve {reference}"):
                intent = self.client.v1.payment_intents.retrieve(reference).to_dict()
            state = state_of(intent)
            if state is IntentState.NEEDS_METHOD:
                try:
                    with _unavailable_on_outage(f"update {reference}"):
                        self.client.v1.payment_intents.update(
                            reference, params={"payment_method": request.method_token}
                        )
                except stripe.InvalidRequestError as exc:
                    return self._after_refused_confirm(reference, exc)
            elif state is not IntentState.UNCONFIRMED:
                return charge_result(intent)
        return self._confirm(reference, request.idempotency_key)

    def _confirm(self, reference: str, key: str) -> ChargeResult:
        params: dict[str, Any] = {"off_session": True} if self._off_session_on_confirm else {}
        try:
            with _unavailable_on_outage(f"confirm {key}"):
                intent = self.client.v1.payment_intents.confirm(
                    reference,
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": f"{key}:confirm"},
                )
        except stripe.CardError as exc:
            return ChargeResult(
                status=ChargeStatus.DECLINED,
                gateway_reference=reference,
                decline_code=(getattr(exc.error, "decline_code", None) or exc.code or "card_declined"),
                message=exc.user_message or str(exc),
            )
        except stripe.InvalidRequestError as exc:
            if params and "off_session" in str(exc):  # a backend without it on confirm (localstripe)
                self._off_session_on_confirm = False
                return self._confirm(reference, key)
            return self._after_refused_confirm(reference, exc)
        return charge_result(intent.to_dict())

    def _after_refused_confirm(self, reference: str, exc: stripe.InvalidRequestError) -> ChargeResult:
        """Stripe refused to confirm: someone else moved the intent on (say so), or the request is bad."""
        with _unavailable_on_outage(f"retrieve {reference}"):
            intent = self.client.v1.payment_intents.retrieve(reference).to_dict()
        if state_of(intent) in (IntentState.UNCONFIRMED, IntentState.NEEDS_METHOD):
            return ChargeResult(
                status=ChargeStatus.FAILED,
                gateway_reference=reference,
                decline_code="invalid_request",
                message=str(exc),
            )
        return charge_result(intent)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Open and attempt in one go (for callers that keep no reference in between)."""
        try:
            reference = self.open_charge(request)
        except stripe.InvalidRequestError as exc:
            return ChargeResult(status=ChargeStatus.FAILED, decline_code="invalid_request", message=str(exc))
        return self.complete_charge(reference, request, fresh=True)

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The intent carrying this key, by Stripe's metadata search; None when there is none, or the
        backend offers no search (localstripe): a collection finds its intent by the stored id instead."""
        query = f"metadata['{KEY_FIELD}']:'{idempotency_key}'"
        try:
            with _unavailable_on_outage(f"lookup {idempotency_key}"):
                found = self.client.v1.payment_intents.search(params={"query": query, "limit": 10})
        except stripe.InvalidRequestError:
            return None
        return charge_result(found.data[0].to_dict()) if found.data else None

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

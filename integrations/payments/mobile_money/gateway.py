"""Mobile money as a payment gateway (``mobile_money``): push payments through the ``PaymentGateway``
contract.

A charge sends a push request to the subscriber's phone (the method token is the MSISDN in E.164) and
answers PENDING: the acknowledgement is not a payment. The outcome arrives by signed callback at
``POST /v1/webhooks/mobile_money`` (``parse_webhook``) or is asked for by status query (``lookup``): the
gateway keeps which checkout request it sent for which idempotency key (``PushLog``, our database), so a
retry never prompts twice for one key. ``awaits_confirmation`` tells callers that PENDING here means "not
known yet" (resolve by ``lookup`` soon), unlike a SEPA debit that waits for a file.

Result codes: 0 → succeeded; 1 insufficient funds, 1032 cancelled, 1037 timed out, 2001 wrong PIN →
declined with that reason; 1001 another request in progress → the request never prompted: ``lookup``
answers None (never seen) so the caller pushes again later, under the same key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from domain.telephony import E164_PHONE, MOBILE_MONEY
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
from integrations.payments.mobile_money.client import (
    SIGNATURE_HEADER,
    MobileMoneyClient,
    MobileMoneyError,
    Outcome,
    PushRequest,
    ResultCode,
    parse_callback,
    verify_callback,
)

DECLINE_CODES: dict[ResultCode, str] = {
    ResultCode.INSUFFICIENT_FUNDS: "insufficient_funds",
    ResultCode.CANCELLED: "cancelled_by_user",
    ResultCode.TIMED_OUT: "timed_out",
    ResultCode.WRONG_PIN: "wrong_pin",
}
IN_PROGRESS_CODE = "request_in_progress"


MAX_CHECKOUT_ID = 200  # an event id is the checkout request id and a result code (255 at most)


class PushLog(Protocol):
    """Which checkout request was sent for which idempotency key (kept in our database)."""

    def remember(self, key: str, checkout_request_id: str, msisdn: str) -> None:
        """Record (or replace, after a request that never prompted) the key's checkout request."""
        ...

    def checkout_of(self, key: str) -> str | None: ...

    def key_of(self, checkout_request_id: str) -> str | None: ...


@dataclass(frozen=True)
class MobileMoneyConfig:
    base_url: str
    consumer_key: str
    consumer_secret: str
    callback_secret: str
    callback_url: str
    timeout_seconds: float = 10.0


def valid_msisdn(msisdn: str) -> bool:
    return bool(E164_PHONE.fullmatch(msisdn))


def result_of(outcome: Outcome) -> ChargeResult | None:
    """The outcome as a charge result; None for a request that never prompted (another in progress)."""
    reference = outcome.checkout_request_id
    if outcome.result_code is None:
        return ChargeResult(
            status=ChargeStatus.PENDING, gateway_reference=reference, message="awaiting the PIN"
        )
    if outcome.result_code is ResultCode.IN_PROGRESS:
        return None
    if outcome.result_code is ResultCode.SUCCESS:
        return ChargeResult(
            status=ChargeStatus.SUCCEEDED,
            gateway_reference=reference,
            message=f"receipt {outcome.receipt_number}",
        )
    return ChargeResult(
        status=ChargeStatus.DECLINED,
        gateway_reference=reference,
        decline_code=DECLINE_CODES[outcome.result_code],
        message=outcome.result_description or "",
    )


class MobileMoneyGateway:
    name = MOBILE_MONEY
    method_kind = MOBILE_MONEY
    awaits_confirmation = True

    def __init__(self, config: MobileMoneyConfig, log: PushLog) -> None:
        self.config = config
        self.log = log
        self._client: MobileMoneyClient | None = None

    @property
    def client(self) -> MobileMoneyClient:
        if self._client is None:
            c = self.config
            self._client = MobileMoneyClient(
                c.base_url, c.consumer_key, c.consumer_secret, timeout_seconds=c.timeout_seconds
            )
        return self._client

    # -- methods: a phone number ----------------------------------------------------------------------
    def register_method(self, request: MethodRegistration) -> RegisteredMethod:
        msisdn = request.token.strip()
        if not valid_msisdn(msisdn):
            raise MethodRejected("invalid_msisdn", f"{msisdn!r} is not a phone number in E.164 (+2547…)")
        return RegisteredMethod(customer=msisdn, token=msisdn, brand="mobile_money", last4=msisdn[-4:])

    # -- charges --------------------------------------------------------------------------------------
    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Push a payment request to the phone once per key: PENDING until the subscriber answers."""
        msisdn = request.method_token
        if not valid_msisdn(msisdn):
            return ChargeResult(
                status=ChargeStatus.FAILED, decline_code="invalid_msisdn", message=f"not E.164: {msisdn!r}"
            )
        push = PushRequest(
            msisdn=msisdn,
            amount=request.amount_minor,
            currency=request.currency,
            account_reference=(request.invoice_id or request.account_id)[-20:],
            description=(request.description or "payment")[:100],
            callback_url=self.config.callback_url,
        )
        try:
            ack = self.client.request_payment(push)
        except MobileMoneyError as exc:
            if exc.retryable:
                raise GatewayUnavailable(
                    f"mobile money did not take {request.idempotency_key}: {exc}"
                ) from exc
            return ChargeResult(status=ChargeStatus.FAILED, decline_code=exc.code, message=exc.message)
        self.log.remember(request.idempotency_key, ack.checkout_request_id, msisdn)
        return ChargeResult(
            status=ChargeStatus.PENDING,
            gateway_reference=ack.checkout_request_id,
            message="payment request sent to the phone",
        )

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        """The outcome by status query of the key's request; None if none was sent or it never prompted."""
        checkout = self.log.checkout_of(idempotency_key)
        if checkout is None:
            return None
        try:
            outcome = self.client.query_status(checkout)
        except MobileMoneyError as exc:
            if exc.status == 404:
                return None
            raise GatewayUnavailable(f"mobile money status of {checkout} unknown: {exc}") from exc
        return result_of(outcome)

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(
            status="failed",
            message="mobile money refunds are paid by a transfer to the phone; record it as a manual refund",
        )

    # -- callbacks ------------------------------------------------------------------------------------
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        signature = headers.get(SIGNATURE_HEADER.lower(), "")
        if not verify_callback(self.config.callback_secret, signature, body):
            raise WebhookRejected("the X-MoMo-Signature does not sign this body")
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise TypeError("the body is not a JSON object")
            outcome = parse_callback(body)
            checkout = outcome.checkout_request_id
            if not isinstance(checkout, str) or not 0 < len(checkout) <= MAX_CHECKOUT_ID:
                raise ValueError(f"checkout_request_id must be a string of 1 to {MAX_CHECKOUT_ID} characters")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebhookRejected(f"not a mobile money callback: {exc}") from exc
        result = result_of(outcome)
        outcome_name: str | None = None
        if result is not None and result.status is ChargeStatus.SUCCEEDED:
            outcome_name = "succeeded"
        elif result is not None and result.status is ChargeStatus.DECLINED:
            outcome_name = "failed"
        code = outcome.result_code
        return GatewayEvent(
            event_id=f"{outcome.checkout_request_id}:{'pending' if code is None else int(code)}",
            event_type="push_payment.completed" if code is not None else "push_payment.pending",
            charge_reference=outcome.checkout_request_id,
            idempotency_key=self.log.key_of(outcome.checkout_request_id),
            outcome=outcome_name,
            decline_code=result.decline_code if result else (IN_PROGRESS_CODE if code is not None else None),
            message=outcome.result_description or "",
            payload=payload,
        )

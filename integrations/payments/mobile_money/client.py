"""A typed client of the mobile-money push-payment gateway (protocol in ``simulator``'s docstring).

``MobileMoneyClient`` asks for a token with the consumer key and secret, sends push requests and queries their
status; a 401 ``invalid_token`` fetches a new token and tries once more. ``verify_callback`` checks a
callback's ``X-MoMo-Signature`` and ``parse_callback`` reads its body. Money is integer minor units.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import httpx

SIGNATURE_HEADER = "X-MoMo-Signature"


class ResultCode(IntEnum):
    SUCCESS = 0
    INSUFFICIENT_FUNDS = 1
    IN_PROGRESS = 1001
    CANCELLED = 1032
    TIMED_OUT = 1037
    WRONG_PIN = 2001


class MobileMoneyError(Exception):
    """The gateway refused or failed a call: ``status`` (0 when it did not answer), ``code``, ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"mobile money gateway answered {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status >= 500


@dataclass(frozen=True)
class PushRequest:
    msisdn: str
    amount: int
    currency: str
    account_reference: str
    description: str
    callback_url: str


@dataclass(frozen=True)
class Acknowledgement:
    """Only that the gateway took the request: not a payment."""

    checkout_request_id: str
    merchant_request_id: str


@dataclass(frozen=True)
class Outcome:
    """A request's state, from the status query or a callback; ``result_code`` is None while pending."""

    checkout_request_id: str
    merchant_request_id: str
    msisdn: str
    result_code: ResultCode | None
    result_description: str | None
    amount: int | None
    currency: str
    receipt_number: str | None

    @property
    def pending(self) -> bool:
        return self.result_code is None

    @property
    def paid(self) -> bool:
        return self.result_code is ResultCode.SUCCESS


def _outcome(data: dict[str, Any], amount: int | None) -> Outcome:
    code = data.get("result_code")
    return Outcome(
        checkout_request_id=str(data["checkout_request_id"]),
        merchant_request_id=str(data["merchant_request_id"]),
        msisdn=str(data["msisdn"]),
        result_code=None if code is None else ResultCode(int(code)),
        result_description=data.get("result_description"),
        amount=amount,
        currency=str(data["currency"]),
        receipt_number=data.get("receipt_number"),
    )


def verify_callback(secret: str, header: str, body: bytes, *, tolerance_s: float = 300.0) -> bool:
    """Whether ``header`` (``t=<unix>,v1=<hex>``) is ``body``'s HMAC-SHA256 under ``secret``, sent lately."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - stamp) <= tolerance_s and hmac.compare_digest(expected, parts.get("v1", ""))


def parse_callback(body: bytes) -> Outcome:
    """A callback body as an ``Outcome`` (verify its signature first)."""
    data = json.loads(body)
    return _outcome(data, data.get("amount"))


class MobileMoneyClient:
    def __init__(
        self, base_url: str, consumer_key: str, consumer_secret: str, *, timeout_seconds: float = 10.0
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_seconds)
        self._credentials = (consumer_key, consumer_secret)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MobileMoneyClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise MobileMoneyError(0, "unreachable", f"{type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _fail(answer: httpx.Response) -> MobileMoneyError:
        try:
            error = answer.json()["error"]
            return MobileMoneyError(answer.status_code, str(error["code"]), str(error["message"]))
        except (ValueError, KeyError, TypeError):
            return MobileMoneyError(answer.status_code, "unexpected_answer", answer.text[:200])

    def token(self) -> str:
        """A fresh access token (also kept for the next calls)."""
        answer = self._call("POST", "/oauth/v1/token", auth=self._credentials)
        if answer.status_code != 200:
            raise self._fail(answer)
        self._token = str(answer.json()["access_token"])
        return self._token

    def _authorised(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in (1, 2):
            token = self._token or self.token()
            answer = self._call(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
            if answer.status_code == 401 and attempt == 1:
                self._token = None
                continue
            return answer
        raise AssertionError("unreachable")

    def request_payment(self, request: PushRequest) -> Acknowledgement:
        body = {
            "msisdn": request.msisdn,
            "amount": request.amount,
            "currency": request.currency,
            "account_reference": request.account_reference,
            "description": request.description,
            "callback_url": request.callback_url,
        }
        answer = self._authorised("POST", "/v1/push-payments", json=body)
        if answer.status_code != 202:
            raise self._fail(answer)
        data = answer.json()
        return Acknowledgement(str(data["checkout_request_id"]), str(data["merchant_request_id"]))

    def query_status(self, checkout_request_id: str) -> Outcome:
        answer = self._authorised("GET", f"/v1/push-payments/{checkout_request_id}")
        if answer.status_code != 200:
            raise self._fail(answer)
        data = answer.json()
        return _outcome(data, data["amount"] if data.get("result_code") == ResultCode.SUCCESS else None)

"""The SMS channel: a client of a typical HTTP SMS gateway (blocking: call it from a sync activity).

Send: ``POST {base}/v1/messages`` with ``Authorization: Bearer <api key>`` and ``{"to": E.164, "from":
sender id, "text": str, "reference": our message id, "callback_url": str}`` → 201 ``{"message_id": str,
"segments": int, "encoding": "gsm7"|"ucs2"}``. The gateway does not deduplicate by reference: a send is
sent, so the engine never repeats one whose outcome is unknown.

Delivery reports: the gateway POSTs ``{"message_id", "reference", "status": "buffered"|"delivered"|
"failed"|"expired"|"rejected", "error_code": str|null, "at": ISO 8601}`` to the callback URL, signed with
``X-SMS-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``; a report may come
twice, late, or before an earlier (non-final) one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from integrations.notify.base import MessageRejected, NotifierUnavailable

SIGNATURE_HEADER = "X-SMS-Signature"
FINAL_STATES = frozenset({"delivered", "failed", "expired", "rejected"})
TOLERANCE_S = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_report(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, made within the last five minutes."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = fields.get("t", ""), fields.get("v1", "")
    if not stamp.isdigit() or not given:
        return False
    if abs((now if now is not None else time.time()) - int(stamp)) > TOLERANCE_S:
        return False
    expected = sign(secret, body, int(stamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str
    reference: str | None
    status: str
    error_code: str | None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATES


def parse_report(body: bytes) -> DeliveryReport:
    """A report's fields (``ValueError`` when the body is not one)."""
    data: Any = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("message_id"), str):
        raise ValueError("a delivery report needs a message_id")
    status = data.get("status")
    if status not in FINAL_STATES | {"buffered"}:
        raise ValueError(f"unknown delivery state {status!r}")
    reference = data.get("reference")
    code = data.get("error_code")
    return DeliveryReport(
        data["message_id"], str(reference) if reference else None, str(status), str(code) if code else None
    )


class SmsGateway:
    """Sends one SMS per call; ``NotifierUnavailable`` (worth retrying: the gateway surely did not take it)
    or ``MessageRejected`` (never)."""

    name = "sms"

    def __init__(
        self, *, base_url: str, api_key: str, sender: str, callback_url: str, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.sender = sender
        self.callback_url = callback_url
        self.timeout = timeout

    def send_sms(self, to: str, text: str, reference: str) -> str:
        """Send ``text`` to ``to``; the gateway's message id."""
        body = {
            "to": to,
            "from": self.sender,
            "text": text,
            "reference": reference,
            "callback_url": self.callback_url,
        }
        try:
            answer = httpx.post(
                f"{self.base_url}/v1/messages",
                json=body,
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=self.timeout,
            )
        except httpx.ConnectError as err:  # nothing reached the gateway
            raise NotifierUnavailable(f"SMS gateway {self.base_url} unreachable: {err}") from err
        except httpx.HTTPError as err:
            raise OutcomeUnknown(f"SMS gateway {self.base_url} did not answer: {err}") from err
        if answer.status_code in (429, 502, 503, 504):
            raise NotifierUnavailable(f"SMS gateway answered {answer.status_code}")
        if answer.status_code >= 400:
            raise MessageRejected(
                f"SMS gateway refused the message ({answer.status_code}): {answer.text[:200]}"
            )
        return str(answer.json()["message_id"])


class OutcomeUnknown(NotifierUnavailable):
    """The request may have reached the gateway (a timeout after sending): the message may be on its way."""

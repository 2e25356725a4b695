"""Cash taken at a retail outlet: the money is in the agent's hand, so the charge always succeeds.

The caller passes the receipt number as ``method_token``; it becomes the gateway reference.
"""

from __future__ import annotations

from integrations.payments.base import ChargeRequest, ChargeResult, ChargeStatus, RefundRequest, RefundResult


class CashGateway:
    name = "cash"

    def __init__(self) -> None:
        self._seen: dict[str, ChargeResult] = {}

    def charge(self, request: ChargeRequest) -> ChargeResult:
        result = ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=request.method_token)
        return self._seen.setdefault(request.idempotency_key, result)

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        return self._seen.get(idempotency_key)

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(status="succeeded", gateway_reference=f"cash-refund:{request.idempotency_key}")

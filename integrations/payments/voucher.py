"""The voucher gateway: the method token is a voucher code; its value pays the invoice.

Redeeming credits the voucher's value to the account's wallet and the invoice is then paid from the
wallet in the same transaction (any rest stays in the wallet). A voucher that is unknown, expired,
cancelled, already redeemed or worth less than the amount declines the charge and moves nothing.
"""

from __future__ import annotations

from typing import Protocol

from integrations.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    RefundRequest,
    RefundResult,
)
from integrations.payments.wallet import WalletGateway, WalletStore


class VoucherDeclined(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class VoucherStore(WalletStore, Protocol):
    def redeem_and_pay(
        self, *, key: str, code: str, account_id: str, currency: str, amount_minor: int, reference: str
    ) -> str:
        """Redeem ``code`` into the wallet and pay ``amount_minor`` from it (once per key), or raise
        VoucherDeclined; returns the wallet transaction id of the payment."""
        ...


class VoucherGateway:
    name = "voucher"

    def __init__(self, store: VoucherStore) -> None:
        self.store = store
        self._wallet = WalletGateway(store)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        try:
            tx_id = self.store.redeem_and_pay(
                key=request.idempotency_key,
                code=request.method_token,
                account_id=request.account_id,
                currency=request.currency,
                amount_minor=request.amount_minor,
                reference=request.invoice_id or request.description,
            )
        except VoucherDeclined as err:
            return ChargeResult(status=ChargeStatus.DECLINED, decline_code=err.code, message=str(err))
        return ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=tx_id)

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        return self._wallet.lookup(idempotency_key)

    def refund(self, request: RefundRequest) -> RefundResult:
        """A voucher is spent once: its refund goes back to the wallet."""
        return self._wallet.refund(request)

"""The wallet gateway: pays an invoice from the account's eWallet balance in the invoice's currency.

Gateways import nothing from ``models``: the balance is kept by a ``WalletStore`` that the activities
layer implements (``activities.wallets.gateway_records.SqlWalletStore``) and hands in when it builds
the gateway.
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


class InsufficientFunds(Exception):
    """The wallet holds less than the amount asked for (nothing was moved)."""


class WalletStore(Protocol):
    def pay(self, *, key: str, account_id: str, currency: str, amount_minor: int, reference: str) -> str:
        """Debit the wallet once per key (returns the wallet transaction id) or raise InsufficientFunds."""
        ...

    def find(self, key: str) -> str | None:
        """The wallet transaction recorded under ``key``, if any."""
        ...

    def give_back(self, *, key: str, transaction_id: str, amount_minor: int, currency: str) -> str:
        """Credit back (part of) a payment once per key; returns the new transaction id."""
        ...


class WalletGateway:
    name = "wallet"

    def __init__(self, store: WalletStore) -> None:
        self.store = store

    def charge(self, request: ChargeRequest) -> ChargeResult:
        try:
            tx_id = self.store.pay(
                key=request.idempotency_key,
                account_id=request.account_id,
                currency=request.currency,
                amount_minor=request.amount_minor,
                reference=request.invoice_id or request.description,
            )
        except InsufficientFunds as err:
            return ChargeResult(
                status=ChargeStatus.DECLINED, decline_code="insufficient_funds", message=str(err)
            )
        return ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=tx_id)

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        tx_id = self.store.find(idempotency_key)
        return None if tx_id is None else ChargeResult(status=ChargeStatus.SUCCEEDED, gateway_reference=tx_id)

    def refund(self, request: RefundRequest) -> RefundResult:
        tx_id = self.store.give_back(
            key=request.idempotency_key,
            transaction_id=request.gateway_reference,
            amount_minor=request.amount_minor,
            currency=request.currency,
        )
        return RefundResult(status="succeeded", gateway_reference=tx_id)

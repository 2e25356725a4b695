"""The SEPA direct debit gateway and the pain.008.001.02 schema check.

A charge adds a debit to the next collection file and answers PENDING (the method token is the
mandate id). ``lookup`` follows the debit: pending until a file carries it, then succeeded, unless the
bank returns it (declined, with the SEPA reason code). SEPA refunds are paid by credit transfer, which
this gateway does not send.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from typing import Any, Protocol

from integrations.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    RefundRequest,
    RefundResult,
)

PAIN_008_XSD = "pain.008.001.02.xsd"


class SepaRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SepaStore(Protocol):
    def enqueue(self, request: ChargeRequest) -> str:
        """Add a debit for the mandate ``request.method_token`` once per key (returns the end-to-end id)
        or raise SepaRejected (unknown or revoked mandate, not EUR)."""
        ...

    def status(self, key: str) -> tuple[str, str, str | None] | None:
        """(end-to-end id, pending | submitted | returned, return reason) of the debit under ``key``."""
        ...


class SepaGateway:
    name = "sepa"

    def __init__(self, store: SepaStore) -> None:
        self.store = store

    def charge(self, request: ChargeRequest) -> ChargeResult:
        try:
            reference = self.store.enqueue(request)
        except SepaRejected as err:
            return ChargeResult(status=ChargeStatus.FAILED, decline_code=err.code, message=str(err))
        return ChargeResult(
            status=ChargeStatus.PENDING, gateway_reference=reference, message="in the next collection file"
        )

    def lookup(self, idempotency_key: str) -> ChargeResult | None:
        found = self.store.status(idempotency_key)
        if found is None:
            return None
        reference, status, reason = found
        if status == "returned":
            return ChargeResult(
                status=ChargeStatus.DECLINED, gateway_reference=reference, decline_code=reason
            )
        outcome = ChargeStatus.SUCCEEDED if status == "submitted" else ChargeStatus.PENDING
        return ChargeResult(status=outcome, gateway_reference=reference)

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(
            status="failed",
            message="SEPA debits are refunded by credit transfer; record it as a manual refund",
        )


@lru_cache(maxsize=1)
def pain_008_schema() -> Any:
    """The official pain.008.001.02 XSD, as shipped in the ``sepaxml`` package, loaded by ``xmlschema``."""
    import xmlschema

    source = files("sepaxml").joinpath("schemas", PAIN_008_XSD)
    return xmlschema.XMLSchema(source.read_text(encoding="utf-8"))


def schema_errors(xml_text: str) -> list[str]:
    """Every way ``xml_text`` breaks the pain.008.001.02 schema (empty when it is valid)."""
    return [str(error.reason or error) for error in pain_008_schema().iter_errors(xml_text)]

"""Registering a card at a gateway: only the gateway's token and display data ever reach Multibill."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel


class CardDetails(BaseModel):
    """What is stored about a card: the gateway's customer and token, and what a person may see."""

    customer: str
    token: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None


class CardRejected(Exception):
    """The gateway refused the card (declined on attach, unknown token): nothing was stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@runtime_checkable
class CardRegistrar(Protocol):
    """A gateway that keeps cards (Stripe): create the customer once, attach a tokenised card."""

    name: str

    def register_card(
        self, *, account_id: str, email: str, name: str, token: str, customer: str | None
    ) -> CardDetails:
        """Attach the tokenised card to the gateway's customer (created when ``customer`` is None)."""
        ...

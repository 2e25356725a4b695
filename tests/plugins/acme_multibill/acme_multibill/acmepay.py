"""AcmePay's client library, as a fake: the payment service lives in this process's memory.

What a real SDK would do over HTTP: tokenise a card in the browser (``tokenize``, the client-side form),
keep customers and cards, charge once per idempotency key, refund, and sign the webhooks it sends
(``Acme-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``). Test cards: 4242424242424242
pays, 4000000000000002 is declined, 4000000000000119 stays pending until a webhook tells the outcome,
4000000000000127 is refused when attached. ``Client.outage`` makes every call time out.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field

DECLINED = "4000000000000002"
PENDING = "4000000000000119"
REFUSED = "4000000000000127"


class Timeout(Exception):
    """AcmePay did not answer in time: the outcome is unknown."""


class CardRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Card:
    id: str
    number: str
    exp_month: int
    exp_year: int
    brand: str = "acmecard"

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass
class Tx:
    id: str
    card: str
    amount: int
    currency: str
    idempotency_key: str
    status: str  # "paid", "declined", "pending"
    code: str | None = None
    refunded: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "paid"


@dataclass
class Refund:
    id: str
    ok: bool


@dataclass
class _Service:
    """AcmePay's side: everything it knows, shared by every client in this process."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    tokens: dict[str, Card] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)  # idempotency key -> customer id
    cards: dict[str, str] = field(default_factory=dict)  # card id -> customer id
    txs: dict[str, Tx] = field(default_factory=dict)  # idempotency key -> tx
    refunds: dict[str, Refund] = field(default_factory=dict)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids):06d}"


SERVICE = _Service()


class Client:
    outage = False  # tests: every call raises Timeout

    def __init__(self, api_key: str, webhook_secret: str) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret

    def _call(self) -> None:
        if Client.outage:
            raise Timeout("AcmePay did not answer within 5 s")

    # -- what the client-side form does in the customer's browser -------------------------------------
    @staticmethod
    def tokenize(number: str, exp_month: int = 12, exp_year: int = 2030) -> str:
        with SERVICE.lock:
            token = SERVICE.new_id("acme_tok")
            SERVICE.tokens[token] = Card(token.replace("tok", "card"), number, exp_month, exp_year)
            return token

    # -- the server-side API ---------------------------------------------------------------------------
    def create_customer(self, email: str, *, idempotency_key: str) -> str:
        self._call()
        with SERVICE.lock:
            return SERVICE.customers.setdefault(idempotency_key, SERVICE.new_id("acme_cus"))

    def attach(self, customer: str, token: str) -> Card:
        self._call()
        with SERVICE.lock:
            card = SERVICE.tokens.get(token)
            if card is None:
                raise CardRefused("invalid_card_token", f"AcmePay knows no token {token}")
            if card.number == REFUSED:
                raise CardRefused("card_refused", "the card was refused when attached")
            SERVICE.cards[card.id] = customer
            return card

    def charge(self, card_id: str, amount: int, currency: str, *, idempotency_key: str) -> Tx:
        self._call()
        with SERVICE.lock:
            if idempotency_key in SERVICE.txs:
                return SERVICE.txs[idempotency_key]
            card = next((c for c in SERVICE.tokens.values() if c.id == card_id), None)
            number = card.number if card else ""
            status, code = "paid", None
            if card is None or card_id not in SERVICE.cards:
                status, code = "declined", "unknown_card"
            elif number == DECLINED:
                status, code = "declined", "card_declined"
            elif number == PENDING:
                status = "pending"
            tx = Tx(SERVICE.new_id("acme_tx"), card_id, amount, currency, idempotency_key, status, code)
            SERVICE.txs[idempotency_key] = tx
            return tx

    def find(self, *, idempotency_key: str) -> Tx | None:
        self._call()
        with SERVICE.lock:
            return SERVICE.txs.get(idempotency_key)

    def refund(self, tx_id: str, amount: int, *, idempotency_key: str) -> Refund:
        self._call()
        with SERVICE.lock:
            if idempotency_key in SERVICE.refunds:
                return SERVICE.refunds[idempotency_key]
            tx = next((t for t in SERVICE.txs.values() if t.id == tx_id), None)
            ok = tx is not None and tx.ok and tx.refunded + amount <= tx.amount
            if ok and tx is not None:
                tx.refunded += amount
            refund = Refund(SERVICE.new_id("acme_re"), ok)
            SERVICE.refunds[idempotency_key] = refund
            return refund

    # -- webhooks --------------------------------------------------------------------------------------
    def settle_pending(self, tx_id: str, *, paid: bool) -> tuple[bytes, dict[str, str]]:
        """AcmePay decides a pending charge and sends the webhook: its body and headers."""
        with SERVICE.lock:
            tx = next(t for t in SERVICE.txs.values() if t.id == tx_id)
            tx.status, tx.code = ("paid", None) if paid else ("declined", "insufficient_funds")
            event = {
                "id": SERVICE.new_id("acme_evt"),
                "type": "charge.paid" if paid else "charge.declined",
                "data": {"charge": tx.id, "idempotency_key": tx.idempotency_key, "code": tx.code},
            }
        body = json.dumps(event).encode()
        return body, {"Acme-Signature": self.sign(body)}

    def sign(self, body: bytes, timestamp: int | None = None) -> str:
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        return f"t={t},v1={mac.hexdigest()}"

    def verify(self, body: bytes, header: str, tolerance_seconds: int = 300) -> bool:
        """Whether AcmePay signed this body recently with our webhook secret."""
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        if not parts.get("t", "").isdigit() or "v1" not in parts:
            return False
        if abs(time.time() - int(parts["t"])) > tolerance_seconds:
            return False
        expected = self.sign(body, int(parts["t"])).split("v1=", 1)[1]
        return hmac.compare_digest(expected, parts["v1"])

"""Collection attempts are numbered once per invoice, from its payments: the pending attempt is
resolved (never a second charge beside it), else the next number; other payments do not count."""

from __future__ import annotations

from activities.payments.collector import next_attempt, next_attempts
from domain.ids import new_id
from domain.payments import collection_key
from models.base import unit_of_work
from models.payments import Payment
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1210


def add_payment(database_url: str, org: str, account: str, invoice: str, **fields: object) -> None:
    attempt = int(fields.pop("attempt", 1))  # type: ignore[call-overload]
    with unit_of_work(database_url) as session:
        session.add(
            Payment(
                id=new_id("pay"),
                organisation_id=org,
                account_id=account,
                kind="card",
                amount_minor=1210,
                currency="EUR",
                gateway="stripe",
                attempt=attempt,
                invoice_id=invoice,
                idempotency_key=str(fields.pop("key", collection_key(invoice, attempt))),
                unallocated_minor=0,
                refunded_minor=0,
                **fields,
            )
        )


def test_attempts_count_from_the_invoices_collections(operator: Tenant, database_url: str) -> None:
    org = operator.organisation_id
    account = make_account(database_url, org)
    fresh, declined, pending, other = (make_invoice(database_url, account, FIBRE) for _ in range(4))
    add_payment(database_url, org, account, declined, attempt=1, status="failed")
    add_payment(database_url, org, account, declined, attempt=2, status="failed")
    add_payment(database_url, org, account, pending, attempt=1, status="failed")
    add_payment(database_url, org, account, pending, attempt=2, status="pending")
    add_payment(database_url, org, account, other, attempt=1, status="pending", key=f"api:{org}:cash-1")
    with unit_of_work(database_url) as session:
        assert next_attempts(session, [fresh, declined, pending, other]) == {
            fresh: 1,
            declined: 3,
            pending: 2,  # its outcome is resolved first: no second charge beside it
            other: 1,  # a payment recorded by staff is not a collection attempt
        }
        assert next_attempt(session, declined) == 3

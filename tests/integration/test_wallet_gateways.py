"""The wallet and voucher gateways over the database: pay once per key, look up, refund, decline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from activities.wallets.gateway_records import SqlVoucherStore, SqlWalletStore
from activities.wallets.top_ups import credit_top_up
from activities.wallets.vouchers import LotRequest, activate_lot, create_lot
from domain.organisations import Role
from domain.principal import Principal
from integrations.payments.base import ChargeRequest, ChargeStatus, RefundRequest
from integrations.payments.voucher import VoucherGateway
from integrations.payments.wallet import WalletGateway
from models.accounts import Account
from models.base import unit_of_work
from models.organisations import Organisation
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant
from tests.support.wallet_support import entries_for, postings_of

# The gateways book on (and check voucher expiry against) today: these tests fix it.
TODAY = date(2026, 6, 17)
pytestmark = [pytest.mark.calendar, pytest.mark.today(f"{TODAY}T12:00:00+00:00")]


def charge(account_id: str, key: str, amount: int, method: str = "wallet") -> ChargeRequest:
    return ChargeRequest(
        idempotency_key=key,
        account_id=account_id,
        invoice_id="inv_X",
        amount_minor=amount,
        currency="EUR",
        method_token=method,
    )


def test_wallet_gateway_pays_once_refunds_and_declines(operator: Tenant, database_url: str) -> None:
    acc = make_account(database_url, operator.organisation_id)
    with unit_of_work(database_url) as session:
        account = session.get(Account, acc)
        assert account is not None
        credit_top_up(
            session,
            account,
            "EUR",
            1000,
            method="cash",
            reference=None,
            key=f"t:{acc}",
            booked_on=TODAY,
        )
    gateway = WalletGateway(SqlWalletStore(database_url))
    assert gateway.lookup(f"{acc}:1") is None
    first = gateway.charge(charge(acc, f"{acc}:1", 600))
    assert first.status is ChargeStatus.SUCCEEDED
    assert gateway.charge(charge(acc, f"{acc}:1", 600)).gateway_reference == first.gateway_reference
    assert gateway.lookup(f"{acc}:1").gateway_reference == first.gateway_reference  # type: ignore[union-attr]
    short = gateway.charge(charge(acc, f"{acc}:2", 401))
    assert (short.status, short.decline_code) == (ChargeStatus.DECLINED, "insufficient_funds")
    refund = gateway.refund(
        RefundRequest(
            idempotency_key=f"{acc}:r1",
            gateway_reference=first.gateway_reference or "",
            amount_minor=100,
            currency="EUR",
        )
    )
    assert refund.status == "succeeded"
    entries = entries_for(database_url, acc)
    assert [postings_of(database_url, e.id) for e in entries[1:]] == [
        [("wallet", acc, 600, 0), ("cash:wallet", None, 0, 600)],
        [("wallet", acc, 0, 100), ("cash:wallet", None, 100, 0)],
    ]


def test_voucher_gateway_redeems_and_pays_keeping_the_rest(operator: Tenant, database_url: str) -> None:
    acc = make_account(database_url, operator.organisation_id)
    today = TODAY
    with unit_of_work(database_url) as session:
        org = session.get(Organisation, operator.organisation_id)
        assert org is not None
        principal = Principal("key_test", org.id, org.path, Role.ADMIN)
        request = LotRequest(value_minor=1500, currency="EUR", expires_on=today + timedelta(days=30), count=2)
        lot, codes = create_lot(session, principal, request, today)
        activate_lot(session, principal, lot.id)
    gateway = VoucherGateway(SqlVoucherStore(database_url))
    paid = gateway.charge(charge(acc, f"{acc}:v1", 1200, codes[0]))
    assert paid.status is ChargeStatus.SUCCEEDED
    reused = gateway.charge(charge(acc, f"{acc}:v2", 100, codes[0]))
    assert (reused.status, reused.decline_code) == (ChargeStatus.DECLINED, "voucher_already_redeemed")
    too_low = gateway.charge(charge(acc, f"{acc}:v3", 1801, codes[1]))
    assert (too_low.status, too_low.decline_code) == (ChargeStatus.DECLINED, "voucher_value_too_low")
    with unit_of_work(database_url) as session:
        from activities.wallets.balances import find_wallet

        assert find_wallet(session, acc, "EUR").balance_minor == 300

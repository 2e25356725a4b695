"""Money amounts are strict integers, bounded per currency (10^13 major units); nothing reaches bigint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.currency import MAX_AMOUNT_MINOR, max_amount_minor
from tests.support.factories import Tenant, person

HUGE = 10**30
BIGINT_MAX = 2**63 - 1
NOT_INTEGERS: list[Any] = [True, "100", 100.0, 1.5, None]


def test_the_bound_follows_the_currency_exponent() -> None:
    assert max_amount_minor("JPY") == 10**13
    assert max_amount_minor("EUR") == 10**15
    assert max_amount_minor("KWD") == 10**16
    assert max_amount_minor("CLF") == MAX_AMOUNT_MINOR == 10**17
    assert MAX_AMOUNT_MINOR * 90 < BIGINT_MAX  # ninety maximal amounts still sum within a bigint


async def _account(api: httpx.AsyncClient, tenant: Tenant) -> str:
    resp = await api.post("/v1/accounts", json=person(), headers=tenant.post_headers())
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def assert_refused(resp: httpx.Response, code: str = "validation_error") -> None:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == code


@pytest.mark.parametrize("amount", [BIGINT_MAX, HUGE, -HUGE, *NOT_INTEGERS])
async def test_a_cash_payment_amount_must_be_a_bounded_integer(
    api: httpx.AsyncClient, operator: Tenant, amount: Any
) -> None:
    account = await _account(api, operator)
    body = {"account_id": account, "amount_minor": amount, "currency": "EUR", "method": "cash"}
    assert_refused(await api.post("/v1/payments", json=body, headers=operator.post_headers()))


async def test_a_payment_at_the_currency_bound_is_taken_one_more_is_refused(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    account = await _account(api, operator)
    body = {"account_id": account, "currency": "EUR", "method": "cash"}
    over = await api.post(
        "/v1/payments", json={**body, "amount_minor": 10**15 + 1}, headers=operator.post_headers()
    )
    assert_refused(over, "amount_too_large")
    assert "1000000000000000 EUR" in over.json()["detail"]
    at = await api.post(
        "/v1/payments", json={**body, "amount_minor": 10**15}, headers=operator.post_headers()
    )
    assert at.status_code == 201, at.text
    balance = await api.get(f"/v1/accounts/{account}/balance", headers=operator.auth)
    assert balance.status_code == 200, balance.text
    assert balance.json()["balances"] == [{"currency": "EUR", "amount_minor": -(10**15)}]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/payments/pay_x/refunds", {"amount_minor": HUGE}),
        ("/v1/payments/pay_x/refunds", {"amount_minor": "100"}),
        ("/v1/credit-notes", {"account_id": "acc_x", "amount_minor": HUGE}),
        ("/v1/credit-notes", {"account_id": "acc_x", "lines": [{"description": "x", "amount_minor": HUGE}]}),
        ("/v1/credit-notes", {"account_id": "acc_x", "lines": [{"description": "x", "amount_minor": 1.0}]}),
        (
            "/v1/voucher-lots",
            {"value_minor": HUGE, "currency": "EUR", "expires_on": "2027-01-01", "count": 1},
        ),
        (
            "/v1/voucher-lots",
            {"value_minor": True, "currency": "EUR", "expires_on": "2027-01-01", "count": 1},
        ),
        ("/v1/devices/dev_x/swap", {"reason": "damaged", "fee_amount_minor": HUGE}),
        ("/v1/accounts/acc_x/wallets/EUR/top-ups", {"method": "cash", "amount_minor": HUGE}),
        ("/v1/accounts/acc_x/wallets/EUR/top-ups", {"method": "cash", "amount_minor": "5"}),
    ],
)
async def test_every_posted_amount_is_bounded_and_strict(
    api: httpx.AsyncClient, operator: Tenant, path: str, body: dict[str, Any]
) -> None:
    assert_refused(await api.post(path, json=body, headers=operator.post_headers()))


async def test_a_voucher_value_over_the_currency_bound_is_refused(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    body = {"value_minor": 10**13 + 1, "currency": "JPY", "expires_on": "2027-01-01", "count": 1}
    assert_refused(
        await api.post("/v1/voucher-lots", json=body, headers=operator.post_headers()), "amount_too_large"
    )


@pytest.mark.parametrize(("value", "code"), [(HUGE, "validation_error"), (10**15 + 1, "amount_too_large")])
async def test_a_low_balance_threshold_is_bounded(
    api: httpx.AsyncClient, operator: Tenant, value: int, code: str
) -> None:
    account = await _account(api, operator)
    resp = await api.patch(
        f"/v1/accounts/{account}/wallets/EUR",
        json={"low_balance_threshold_minor": value},
        headers=operator.auth,
    )
    assert_refused(resp, code)


async def test_a_top_up_over_the_wallet_currency_bound_is_refused(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    account = await _account(api, operator)
    resp = await api.post(
        f"/v1/accounts/{account}/wallets/EUR/top-ups",
        json={"method": "cash", "amount_minor": 10**15 + 1, "receipt": "r1"},
        headers=operator.post_headers(),
    )
    assert_refused(resp, "amount_too_large")


async def test_a_numeric_id_beyond_bigint_is_a_422(api: httpx.AsyncClient, operator: Tenant) -> None:
    resp = await api.post(f"/v1/usage/suspense/{HUGE}/retry", headers=operator.post_headers())
    assert_refused(resp)


async def test_a_bill_day_is_bounded(api: httpx.AsyncClient, operator: Tenant) -> None:
    resp = await api.post("/v1/billing-runs", json={"bill_day": HUGE}, headers=operator.post_headers())
    assert_refused(resp)

"""The mobile-money push-payment simulator's protocol, driven over real HTTP through the client, with the test
playing the subscriber on the handset and a real HTTP receiver taking the signed callbacks."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from integrations.payments.mobile_money import (
    MobileMoneyClient,
    MobileMoneyError,
    Outcome,
    PushRequest,
    ResultCode,
    verify_callback,
)
from integrations.payments.mobile_money.simulator import sign
from tests.support.eventually import eventually
from tests.support.mobile_money_simulator import (
    CALLBACK_SECRET,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    Callback,
    CallbackReceiver,
    Handset,
    MobileMoneyGateway,
    unique_msisdn,
)

PIN = "4321"


@pytest.fixture
def client(mobile_money: MobileMoneyGateway) -> Iterator[MobileMoneyClient]:
    with MobileMoneyClient(mobile_money.url, CONSUMER_KEY, CONSUMER_SECRET, timeout_seconds=2.0) as momo:
        yield momo


@pytest.fixture
def phone(mobile_money: MobileMoneyGateway) -> Iterator[Handset]:
    handset = Handset(mobile_money.url, unique_msisdn())
    handset.register(pin=PIN, balance=50_000)
    yield handset
    handset.close()


def push(client: MobileMoneyClient, receiver: CallbackReceiver, msisdn: str, amount: int = 12_500) -> str:
    request = PushRequest(msisdn, amount, "KES", "INV-2026-0042", "Invoice INV-2026-0042", receiver.url)
    return client.request_payment(request).checkout_request_id


def callbacks(receiver: CallbackReceiver, cid: str, count: int = 1) -> list[Callback]:
    return eventually(
        lambda: receiver.for_request(cid),
        until=lambda got: len(got) >= count,
        what=f"{count} callback(s) for {cid}",
    )


def test_the_acknowledgement_is_not_a_payment_and_approving_pays(
    client: MobileMoneyClient, phone: Handset, momo_callbacks: CallbackReceiver
) -> None:
    request = PushRequest(
        phone.msisdn, 12_500, "KES", "INV-2026-0042", "Invoice INV-2026-0042", momo_callbacks.url
    )
    ack = client.request_payment(request)
    assert ack.checkout_request_id and ack.merchant_request_id
    pending = client.query_status(ack.checkout_request_id)
    assert pending.pending and pending.receipt_number is None and not pending.paid
    prompt = phone.state()["prompt"]
    assert prompt["checkout_request_id"] == ack.checkout_request_id
    assert (prompt["amount"], prompt["account_reference"]) == (12_500, "INV-2026-0042")
    assert momo_callbacks.for_request(ack.checkout_request_id) == []

    assert phone.approve(PIN).status_code == 200
    [callback] = callbacks(momo_callbacks, ack.checkout_request_id)
    assert callback.verified
    paid = callback.outcome
    assert paid.result_code is ResultCode.SUCCESS and paid.paid
    assert (paid.amount, paid.currency, paid.msisdn) == (12_500, "KES", phone.msisdn)
    assert paid.merchant_request_id == ack.merchant_request_id
    assert paid.receipt_number
    assert client.query_status(ack.checkout_request_id) == paid
    assert phone.state() == {"msisdn": phone.msisdn, "balance": 37_500, "reachable": True, "prompt": None}


@pytest.mark.parametrize(
    ("act", "code", "balance"),
    [
        (lambda h: h.approve("0000"), ResultCode.WRONG_PIN, 50_000),
        (lambda h: h.cancel(), ResultCode.CANCELLED, 50_000),
    ],
    ids=["wrong-pin", "cancelled"],
)
def test_a_refused_prompt_reports_its_code_and_takes_nothing(
    client: MobileMoneyClient,
    phone: Handset,
    momo_callbacks: CallbackReceiver,
    act: object,
    code: ResultCode,
    balance: int,
) -> None:
    cid = push(client, momo_callbacks, phone.msisdn)
    assert callable(act)
    assert act(phone).status_code == 200
    [callback] = callbacks(momo_callbacks, cid)
    assert callback.verified and callback.outcome.result_code is code
    assert callback.outcome.amount is None and callback.outcome.receipt_number is None
    assert callback.outcome.result_description
    assert client.query_status(cid) == callback.outcome
    assert phone.state()["balance"] == balance
    assert phone.approve(PIN).status_code == 404  # the prompt is gone


def test_insufficient_funds(
    client: MobileMoneyClient, phone: Handset, momo_callbacks: CallbackReceiver
) -> None:
    cid = push(client, momo_callbacks, phone.msisdn, amount=50_001)
    phone.approve(PIN)
    [callback] = callbacks(momo_callbacks, cid)
    assert callback.outcome.result_code is ResultCode.INSUFFICIENT_FUNDS and not callback.outcome.paid
    assert phone.state()["balance"] == 50_000


def test_an_ignored_prompt_times_out(
    mobile_money: MobileMoneyGateway,
    client: MobileMoneyClient,
    phone: Handset,
    momo_callbacks: CallbackReceiver,
) -> None:
    mobile_money.simulator.prompt_timeout = 1.0
    started = time.monotonic()
    cid = push(client, momo_callbacks, phone.msisdn)
    assert client.query_status(cid).pending
    [callback] = callbacks(momo_callbacks, cid)
    assert time.monotonic() - started >= 0.9
    assert callback.outcome.result_code is ResultCode.TIMED_OUT
    assert client.query_status(cid).result_code is ResultCode.TIMED_OUT
    assert phone.state()["prompt"] is None
    assert phone.approve(PIN).status_code == 404  # too late


def test_an_unknown_or_unreachable_phone_times_out(
    mobile_money: MobileMoneyGateway, client: MobileMoneyClient, momo_callbacks: CallbackReceiver
) -> None:
    off = Handset(mobile_money.url, unique_msisdn())
    off.register(pin=PIN, reachable=False)
    for msisdn in (off.msisdn, unique_msisdn()):
        cid = push(client, momo_callbacks, msisdn)
        [callback] = callbacks(momo_callbacks, cid)
        assert callback.outcome.result_code is ResultCode.TIMED_OUT
    off.close()


def test_one_open_prompt_per_phone(
    client: MobileMoneyClient, phone: Handset, momo_callbacks: CallbackReceiver
) -> None:
    first = push(client, momo_callbacks, phone.msisdn, amount=1_000)
    second = push(client, momo_callbacks, phone.msisdn, amount=2_000)  # acknowledged all the same
    [busy] = callbacks(momo_callbacks, second)
    assert busy.outcome.result_code is ResultCode.IN_PROGRESS
    assert client.query_status(second).result_code is ResultCode.IN_PROGRESS
    assert phone.state()["prompt"]["checkout_request_id"] == first  # the open prompt is untouched
    phone.approve(PIN)
    assert callbacks(momo_callbacks, first)[0].outcome.amount == 1_000
    third = push(client, momo_callbacks, phone.msisdn, amount=3_000)  # the phone is free again
    assert phone.state()["prompt"]["checkout_request_id"] == third
    phone.cancel()


def test_a_callback_twice_never_or_late(
    mobile_money: MobileMoneyGateway,
    client: MobileMoneyClient,
    phone: Handset,
    momo_callbacks: CallbackReceiver,
) -> None:
    sim = mobile_money.simulator
    sim.callback_copies = 2
    twice = push(client, momo_callbacks, phone.msisdn, amount=100)
    phone.approve(PIN)
    one, two = callbacks(momo_callbacks, twice, count=2)
    assert one.raw == two.raw and one.outcome.receipt_number == two.outcome.receipt_number

    sim.callback_copies = 0
    never = push(client, momo_callbacks, phone.msisdn, amount=200)
    phone.approve(PIN)
    settled: Outcome = eventually(
        lambda: client.query_status(never), until=lambda o: not o.pending, what="settled"
    )
    assert settled.paid and settled.amount == 200
    time.sleep(0.3)
    assert momo_callbacks.for_request(never) == []

    sim.callback_copies, sim.callback_delay = 1, 1.0
    late = push(client, momo_callbacks, phone.msisdn, amount=300)
    phone.approve(PIN)
    assert client.query_status(late).paid  # the status query knows before the callback comes
    time.sleep(0.4)
    assert momo_callbacks.for_request(late) == []
    [callback] = callbacks(momo_callbacks, late)
    assert callback.outcome == client.query_status(late)


def test_a_badly_signed_callback_is_refused_by_the_receiver(
    mobile_money: MobileMoneyGateway,
    client: MobileMoneyClient,
    phone: Handset,
    momo_callbacks: CallbackReceiver,
) -> None:
    mobile_money.simulator.bad_signature_next = 1
    cid = push(client, momo_callbacks, phone.msisdn, amount=100)
    phone.approve(PIN)
    [callback] = callbacks(momo_callbacks, cid)
    assert not callback.verified
    eventually(lambda: (cid, 401) in mobile_money.simulator.deliveries, what="the refusal recorded")


def test_the_callback_signature() -> None:
    body = b'{"result_code": 0}'
    now = int(time.time())
    header = sign(CALLBACK_SECRET, body, now)
    assert verify_callback(CALLBACK_SECRET, header, body)
    assert not verify_callback("another secret", header, body)
    assert not verify_callback(CALLBACK_SECRET, header, body.replace(b"0", b"1"))
    assert not verify_callback(CALLBACK_SECRET, sign(CALLBACK_SECRET, body, now - 3600), body)
    assert not verify_callback(CALLBACK_SECRET, "", body)


def test_authentication(mobile_money: MobileMoneyGateway, client: MobileMoneyClient) -> None:
    stranger = MobileMoneyClient(mobile_money.url, CONSUMER_KEY, "wrong", timeout_seconds=2.0)
    with stranger, pytest.raises(MobileMoneyError) as refused:
        stranger.token()
    assert (refused.value.status, refused.value.code) == (401, "invalid_client")
    bare = httpx.get(f"{mobile_money.url}/v1/push-payments/ws_CO_0000000001", timeout=2.0)
    assert (bare.status_code, bare.json()["error"]["code"]) == (401, "invalid_token")

    token = client.token()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{mobile_money.url}/v1/push-payments/nope", headers=headers).status_code == 404
    mobile_money.simulator.expire_tokens()
    expired = httpx.get(f"{mobile_money.url}/v1/push-payments/nope", headers=headers)
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "invalid_token")
    with pytest.raises(MobileMoneyError) as unknown:  # the client fetched a new token by itself
        client.query_status("nope")
    assert (unknown.value.status, unknown.value.code) == (404, "unknown_checkout_request")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("msisdn", "0712345678", "invalid_request"),
        ("amount", 125.5, "invalid_request"),
        ("amount", 0, "invalid_request"),
        ("amount", True, "invalid_request"),
        ("amount", "100", "invalid_request"),
        ("account_reference", "", "invalid_request"),
        ("account_reference", "X" * 21, "invalid_request"),
        ("callback_url", "ftp://example.test/cb", "invalid_request"),
        ("currency", "EUR", "unsupported_currency"),
    ],
)
def test_bad_requests_are_refused(
    client: MobileMoneyClient,
    phone: Handset,
    momo_callbacks: CallbackReceiver,
    field: str,
    value: object,
    code: str,
) -> None:
    fields = {
        "msisdn": phone.msisdn,
        "amount": 100,
        "currency": "KES",
        "account_reference": "INV-1",
        "description": "Invoice INV-1",
        "callback_url": momo_callbacks.url,
        field: value,
    }
    with pytest.raises(MobileMoneyError) as refused:
        client.request_payment(PushRequest(**fields))  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (422, code)
    assert phone.state()["prompt"] is None


def test_failures_and_slowness(
    mobile_money: MobileMoneyGateway,
    client: MobileMoneyClient,
    phone: Handset,
    momo_callbacks: CallbackReceiver,
) -> None:
    client.token()
    mobile_money.simulator.fail_next, mobile_money.simulator.fail_status = 1, 502
    with pytest.raises(MobileMoneyError) as failed:
        push(client, momo_callbacks, phone.msisdn)
    assert (failed.value.status, failed.value.code, failed.value.retryable) == (502, "unavailable", True)
    assert phone.state()["prompt"] is None  # nothing was asked of the phone

    mobile_money.simulator.latency = 2.5
    with pytest.raises(MobileMoneyError) as slow:
        client.query_status("ws_CO_0000000001")
    assert (slow.value.status, slow.value.code, slow.value.retryable) == (0, "unreachable", True)

    mobile_money.simulator.latency = 0.0
    cid = push(client, momo_callbacks, phone.msisdn)
    assert client.query_status(cid).pending
    phone.cancel()

"""The Netflix partner billing simulator, driven over real HTTP through the client the product will use."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from integrations.partners.netflix import ChargeDecision, NetflixClient, NetflixError
from integrations.partners.netflix.client import Charge, complete_signup
from tests.support.netflix_simulator import NetflixHarness

MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


def member(netflix: NetflixHarness, customer_id: str, **kwargs: object) -> None:
    signup = netflix.client.create_subscriber(customer_id, **kwargs)  # type: ignore[arg-type]
    complete_signup(signup.signup_url, netflix.url)


def decision(charge: Charge, **kwargs: object) -> ChargeDecision:
    return ChargeDecision(
        charge_number=charge.charge_number,
        billing_system_customer_identifier=charge.billing_system_customer_identifier,
        **kwargs,  # type: ignore[arg-type]
    )


def error_of(call: object) -> NetflixError:
    assert callable(call)
    with pytest.raises(NetflixError) as caught:
        call()
    return caught.value


def test_login_is_required_and_a_wrong_secret_is_refused(netflix: NetflixHarness) -> None:
    anonymous = httpx.get(f"{netflix.url}/v1/charges")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, "unauthorized")
    forged = httpx.get(f"{netflix.url}/v1/charges", headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    with NetflixClient(netflix.url, "op-netflix", "wrong") as intruder:
        assert (error_of(intruder.login).status, error_of(intruder.login).code) == (
            401,
            "invalid_credentials",
        )
    token = netflix.client.login()
    assert (
        httpx.get(f"{netflix.url}/v1/charges", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_an_expired_access_token_is_refused_and_the_client_logs_in_again(netflix: NetflixHarness) -> None:
    token = netflix.client.login()
    netflix.clock.advance(seconds=3600)
    stale = httpx.get(f"{netflix.url}/v1/charges", headers={"Authorization": f"Bearer {token}"})
    assert (stale.status_code, stale.json()["error"]["code"]) == (401, "token_expired")
    assert netflix.client.charges() == []
    assert netflix.simulator.requests.count(("POST", "/v1/login")) == 2


def test_creating_a_partner_subscriber_answers_a_signup_token_valid_at_most_a_day(
    netflix: NetflixHarness,
) -> None:
    signup = netflix.client.create_subscriber(
        "cust-1",
        channel="BROADBAND",
        promotion_code="TVMAX",
        token_validity_seconds=86400,
        email="a@b.example",
    )
    assert (signup.status, signup.channel, signup.promotion_code) == ("PENDING_SIGNUP", "BROADBAND", "TVMAX")
    assert signup.signup_token and signup.signup_token in signup.signup_url
    assert signup.token_expires_at == netflix.clock.instant + timedelta(days=1)

    too_long = error_of(lambda: netflix.client.create_subscriber("cust-2", token_validity_seconds=86401))
    assert (too_long.status, too_long.code) == (422, "invalid_token_validity")
    bad_channel = error_of(lambda: netflix.client.create_subscriber("cust-2", channel="FAX"))  # type: ignore[arg-type]
    assert bad_channel.code == "invalid_channel"
    assert error_of(lambda: netflix.client.create_subscriber("")).code == "invalid_request"
    again = error_of(lambda: netflix.client.create_subscriber("cust-1"))
    assert (again.status, again.code) == (409, "membership_exists")


def test_the_member_completes_signup_once_before_the_token_expires(netflix: NetflixHarness) -> None:
    signup = netflix.client.create_subscriber("cust-1", token_validity_seconds=600)
    assert complete_signup(signup.signup_url, netflix.url).status == "ACTIVE"
    assert netflix.client.subscriber("cust-1").status == "ACTIVE"
    reused = error_of(lambda: complete_signup(signup.signup_url, netflix.url))
    assert (reused.status, reused.code) == (409, "token_used")

    late = netflix.client.create_subscriber("cust-2", token_validity_seconds=600)
    netflix.clock.advance(seconds=600)
    expired = error_of(lambda: complete_signup(late.signup_url, netflix.url))
    assert (expired.status, expired.code) == (410, "token_expired")
    assert netflix.client.subscriber("cust-2").status == "PENDING_SIGNUP"
    assert error_of(lambda: complete_signup("https://x/?token=nope", netflix.url)).code == "unknown_token"
    assert error_of(lambda: netflix.client.subscriber("nobody")).status == 404


def test_each_period_charges_active_members_once_in_minor_units(netflix: NetflixHarness) -> None:
    member(netflix, "cust-1", plan="STANDARD")
    member(netflix, "cust-2", plan="PREMIUM")
    netflix.client.create_subscriber("cust-pending")  # never signed up: never charged
    netflix.simulator.bill_period(MARCH)
    netflix.simulator.bill_period(MARCH)  # the same period again posts nothing new

    charges = sorted(netflix.client.charges(), key=lambda c: c.billing_system_customer_identifier)
    assert [(c.billing_system_customer_identifier, c.amount, c.local_amount) for c in charges] == [
        ("cust-1", 1549, 1425),  # 1549 * 0.92 = 1425.08
        ("cust-2", 2299, 2115),  # 2299 * 0.92 = 2115.08
    ]
    first = charges[0]
    assert (first.currency, first.local_currency, first.status) == ("USD", "EUR", "PENDING")
    assert first.paid_through_date == date(2026, 3, 31)
    assert first.received_at == netflix.clock.instant
    assert [c.status for c in first.status_changes] == ["PENDING"]
    assert len({c.charge_number for c in charges}) == 2


def test_accepting_approves_extends_service_and_only_pending_charges_can_be_processed(
    netflix: NetflixHarness,
) -> None:
    member(netflix, "cust-1")
    [charge] = netflix.simulator.bill_period(MARCH)
    [pending] = netflix.client.charges()
    netflix.clock.advance(hours=2)
    assert netflix.client.accept([decision(pending, reference_number="INV-1")]) == []

    assert netflix.client.charges() == []
    [approved] = netflix.client.charges("APPROVED")
    assert (approved.charge_number, approved.reference_number) == (charge["charge_number"], "INV-1")
    assert [(c.status, c.at) for c in approved.status_changes][-1] == ("APPROVED", netflix.clock.instant)
    assert netflix.client.subscriber("cust-1").paid_through_date == date(2026, 3, 31)

    [again] = netflix.client.accept([decision(pending)])
    assert (again.charge_number, again.error_code) == (pending.charge_number, "ALREADY_PROCESSED")
    [late_decline] = netflix.client.decline([decision(pending)])
    assert late_decline.error_code == "ALREADY_PROCESSED"
    assert netflix.client.subscriber("cust-1").status == "ACTIVE"

    netflix.simulator.bill_period(date(2026, 3, 31))  # still paid through that day
    assert netflix.client.charges() == []
    [april] = netflix.simulator.bill_period(APRIL)  # charged again from the day after
    assert april["paid_through_date"] == "2026-04-30"


@pytest.mark.parametrize("status", ["DECLINED", "BAD_REQUEST", "REJECTED"])
def test_a_declined_bad_or_rejected_charge_ends_the_membership(netflix: NetflixHarness, status: str) -> None:
    member(netflix, "cust-1")
    [charge] = netflix.simulator.bill_period(MARCH)
    [pending] = netflix.client.charges()
    assert netflix.client.decline([decision(pending, status=status, reason="over allowance")]) == []

    [declined] = netflix.client.charges(status)  # type: ignore[arg-type]
    assert declined.charge_number == charge["charge_number"]
    ended = netflix.client.subscriber("cust-1")
    assert (ended.status, ended.end_reason, ended.paid_through_date) == ("ENDED", "over allowance", None)
    assert netflix.simulator.bill_period(APRIL) == []
    assert netflix.client.create_subscriber("cust-1").status == "PENDING_SIGNUP"  # may join again


def test_a_batch_reports_only_its_failed_items_and_reference_numbers_are_unique_per_operator(
    netflix: NetflixHarness,
) -> None:
    for n in range(4):
        member(netflix, f"cust-{n}")
    netflix.simulator.bill_period(MARCH)
    c0, c1, c2, c3 = sorted(netflix.client.charges(), key=lambda c: c.billing_system_customer_identifier)
    assert netflix.client.accept([decision(c0, reference_number="REF-A")]) == []

    failed = netflix.client.accept(
        [
            decision(c1, reference_number="REF-A"),  # used by c0
            ChargeDecision(charge_number=c2.charge_number, billing_system_customer_identifier="cust-0"),
            ChargeDecision(charge_number="NFX-NOPE", billing_system_customer_identifier="cust-3"),
            decision(c3, reference_number="REF-B"),
        ]
    )
    assert sorted((f.charge_number, f.error_code) for f in failed) == sorted(
        [
            (c1.charge_number, "DUPLICATE_REFERENCE_NUMBER"),
            (c2.charge_number, "CUSTOMER_MISMATCH"),
            ("NFX-NOPE", "CHARGE_NOT_FOUND"),
        ]
    )
    assert all(f.description for f in failed)
    assert sorted(c.charge_number for c in netflix.client.charges()) == sorted(
        [c1.charge_number, c2.charge_number]
    )
    assert netflix.client.accept([decision(c1, reference_number="REF-C")]) == []

    with NetflixClient(netflix.url, "op-other", "other") as other:
        [foreign] = other.accept([decision(c2)])  # another operator's charges are not its own
        assert foreign.error_code == "CHARGE_NOT_FOUND"
        other.create_subscriber("cust-0")
        complete_signup(other.create_subscriber("cust-9").signup_url, netflix.url)
        [theirs] = netflix.simulator.bill_period(APRIL, operator="op-other")
        assert theirs["billing_system_customer_identifier"] == "cust-9"
        assert other.accept([decision(Charge.model_validate(theirs), reference_number="REF-A")]) == []


def test_a_batch_holds_at_most_fifty_charges(netflix: NetflixHarness) -> None:
    for n in range(51):
        member(netflix, f"cust-{n:02d}")
    netflix.simulator.bill_period(MARCH)
    charges = netflix.client.charges()
    items = [decision(c).model_dump(exclude={"status", "reason"}) for c in charges]
    token = netflix.client.login()
    big = httpx.post(
        f"{netflix.url}/v1/charges/accept",
        json={"charges": items},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (big.status_code, big.json()["error"]["code"]) == (422, "batch_too_large")
    with pytest.raises(ValueError, match=r"1\.\.50"):
        netflix.client.accept([decision(c) for c in charges])
    assert len(netflix.client.charges()) == 51  # nothing of the refused batch was processed
    assert netflix.client.accept([decision(c) for c in charges[:50]]) == []
    assert len(netflix.client.charges()) == 1
    assert error_of(
        lambda: netflix.client._call("POST", "/v1/charges/accept", json={"charges": []})
    ).code == ("empty_batch")


def test_it_can_answer_slowly_or_fail(netflix: NetflixHarness) -> None:
    netflix.client.login()
    netflix.simulator.latency = 0.5
    impatient = NetflixClient(netflix.url, "op-netflix", "s3cret", timeout_seconds=0.1)
    with impatient, pytest.raises(httpx.TimeoutException):
        impatient.login()
    netflix.simulator.latency = 0.0

    netflix.simulator.fail_next = 2
    unavailable = error_of(netflix.client.charges)
    assert (unavailable.status, unavailable.code) == (503, "unavailable")
    netflix.simulator.fail_status = 500
    assert error_of(netflix.client.charges).status == 500
    assert netflix.client.charges() == []  # the failures were only the next two answers


def test_it_can_send_a_charge_twice(netflix: NetflixHarness) -> None:
    member(netflix, "cust-1")
    netflix.simulator.duplicate_next_charges = 1
    netflix.simulator.bill_period(MARCH)
    first, second = netflix.client.charges()
    assert first == second
    [failed] = netflix.client.accept(
        [decision(first, reference_number="R1"), decision(second, reference_number="R2")]
    )
    assert (failed.charge_number, failed.error_code) == (first.charge_number, "ALREADY_PROCESSED")
    assert [c.reference_number for c in netflix.client.charges("APPROVED")] == ["R1", "R1"]


def test_it_can_send_a_charge_for_an_unknown_customer(netflix: NetflixHarness) -> None:
    netflix.simulator.post_charge_for_unknown_customer("op-netflix", "ghost", MARCH)
    [charge] = netflix.client.charges()
    assert (charge.billing_system_customer_identifier, charge.status) == ("ghost", "PENDING")
    assert error_of(lambda: netflix.client.subscriber("ghost")).code == "subscriber_not_found"
    assert netflix.client.decline([decision(charge, status="BAD_REQUEST", reason="unknown customer")]) == []
    assert [c.charge_number for c in netflix.client.charges("BAD_REQUEST")] == [charge.charge_number]


def test_the_control_endpoint_bills_a_period_over_http(netflix: NetflixHarness) -> None:
    member(netflix, "cust-1")
    answer = httpx.post(f"{netflix.url}/_control/bill_period", json={"period_start": "2026-03-01"})
    assert answer.status_code == 200
    [posted] = answer.json()["data"]
    assert [c.charge_number for c in netflix.client.charges()] == [posted["charge_number"]]


def test_a_plan_change_takes_effect_at_once_and_the_next_charges_use_the_new_price(
    netflix: NetflixHarness,
) -> None:
    member(netflix, "cust-1", plan="STANDARD")
    [march] = netflix.simulator.bill_period(MARCH)
    moved = netflix.client.change_plan("cust-1", "PREMIUM")
    assert (moved.status, moved.plan) == ("ACTIVE", "PREMIUM")
    assert march["amount"] == 1549  # the charge already posted keeps its price
    [pending] = netflix.client.charges()
    assert netflix.client.accept([decision(pending)]) == []
    [april] = netflix.simulator.bill_period(APRIL)
    assert (april["plan"], april["amount"]) == ("PREMIUM", 2299)

    assert error_of(lambda: netflix.client.change_plan("cust-1", "ULTRA")).code == "invalid_plan"
    assert error_of(lambda: netflix.client.change_plan("nobody", "BASIC")).code == "subscriber_not_found"
    netflix.client.cancel("cust-1", "moved away")
    assert error_of(lambda: netflix.client.change_plan("cust-1", "BASIC")).code == "membership_ended"


def test_cancelling_ends_the_membership_with_its_reason_and_is_safe_to_retry(netflix: NetflixHarness) -> None:
    member(netflix, "cust-1")
    [charge] = netflix.simulator.bill_period(MARCH)
    ended = netflix.client.cancel("cust-1", "subscription terminated")
    assert (ended.status, ended.end_reason) == ("ENDED", "subscription terminated")
    assert netflix.client.charges() == []  # the pending charge is withdrawn, never billed
    [withdrawn] = netflix.client.charges("REJECTED")
    assert withdrawn.charge_number == charge["charge_number"]
    again = netflix.client.cancel("cust-1", "another reason")
    assert (again.status, again.end_reason) == ("ENDED", "subscription terminated")
    assert netflix.simulator.bill_period(APRIL) == []
    assert error_of(lambda: netflix.client.cancel("cust-1", "")).code == "invalid_request"
    assert error_of(lambda: netflix.client.cancel("nobody", "x")).code == "subscriber_not_found"


def test_a_pending_membership_tells_its_signup_link_again(netflix: NetflixHarness) -> None:
    signup = netflix.client.create_subscriber("cust-1", token_validity_seconds=600)
    pending = netflix.client.subscriber("cust-1")
    assert (pending.signup_url, pending.token_expires_at) == (signup.signup_url, signup.token_expires_at)
    complete_signup(signup.signup_url, netflix.url)
    active = netflix.client.subscriber("cust-1")
    assert (active.status, active.signup_url) == ("ACTIVE", None)

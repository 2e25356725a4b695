"""NetflixChargeAcceptance on the time-skipping server, against the Netflix simulator over HTTP and the
real database: a period's charges accepted and billed once (invoice, wallet, included), bad charges
declined and never billed, batches of at most 50, a worker dying between the partner's answer and our
stamp, a run that never reported, and a partner that fails before it answers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.partner_charges.activities import PartnerChargeActivities
from activities.partner_charges.io import AcceptanceInput, AcceptanceResult, Decided, DecideInput
from activities.partner_charges.receiving import store_received
from activities.partner_charges.reporting import Outgoing, Stamped
from activities.partner_charges.sessions import PartnerRegistry
from activities.partners.settlement import settle_month
from integrations.partners.base import FailedDecision
from integrations.partners.base import PartnerCharge as Incoming
from integrations.partners.netflix.client import complete_signup
from integrations.partners.netflix.provider import NetflixProvider
from models.base import unit_of_work
from models.events import EventRecord
from models.partners import PartnerSubscription
from models.subscriptions import PendingCharge
from runtime.settings import Settings
from tests.support.factories import make_operator
from tests.support.netflix_simulator import NETFLIX_OPERATOR, NETFLIX_SECRET, NetflixHarness
from tests.support.partner_factory import (
    Member,
    acceptance_worker,
    charges_of,
    make_connection,
    make_member,
    membership_of,
    pending_charges_of,
    top_up,
    wallet_of,
)
from workflows.partner_charges import NetflixChargeAcceptanceWorkflow

PERIOD = date(2026, 3, 1)
# STANDARD is 15.49 USD at the simulator; in EUR at 0.92: 1425.08 -> 1425 (we bill the local amount).
STANDARD_EUR = 1425


def registry() -> PartnerRegistry:
    found = PartnerRegistry()
    found.register(NetflixProvider(timeout_seconds=2.0))
    return found


def operator_with_netflix(settings: Settings, netflix: NetflixHarness) -> str:
    operator = make_operator(settings.database_url or "").organisation_id
    make_connection(settings, operator, "netflix", netflix.url, NETFLIX_OPERATOR, NETFLIX_SECRET)
    return operator


def join(netflix: NetflixHarness, member: Member, plan: str = "STANDARD") -> None:
    signup = netflix.client.create_subscriber(member.customer_id, plan=plan)
    complete_signup(signup.signup_url, netflix.url)


async def accept(env: WorkflowEnvironment, queue: Settings, operator: str, **extra: int) -> AcceptanceResult:
    return await env.client.execute_workflow(
        NetflixChargeAcceptanceWorkflow.run,
        AcceptanceInput(organisation_id=operator, provider="netflix", **extra),
        id=f"partner-charges-test-{uuid.uuid4().hex[:8]}",
        task_queue=queue.task_queue,
    )


def events_of(database_url: str, operator: str) -> list[str]:
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(EventRecord.type).where(
                EventRecord.organisation_id == operator, EventRecord.type.like("partner_charge.%")
            )
        ).scalars()
        return sorted(rows)


def calls(netflix: NetflixHarness, path: str) -> int:
    return sum(1 for method, p in netflix.simulator.requests if (method, p) == ("POST", path))


async def test_a_period_is_accepted_and_billed_once(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    postpaid = make_member(db, operator, "netflix")
    prepaid = make_member(db, operator, "netflix", prepaid=True)
    included = make_member(db, operator, "netflix", included=True)
    top_up(db, prepaid.account_id, "EUR", 5000)
    for member in (postpaid, prepaid, included):
        join(netflix, member)
    netflix.simulator.duplicate_next_charges = 1  # the first charge is listed twice
    posted = netflix.simulator.bill_period(PERIOD)
    assert len(posted) == 3

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        first = await accept(time_skipping_env, queue, operator)
        again = await accept(time_skipping_env, queue, operator)

    assert (first.fetched, first.repeats, first.accepted, first.declined, first.reported, first.failed) == (
        3,
        1,
        3,
        0,
        3,
        0,
    )
    assert (again.fetched, again.accepted, again.reported) == (0, 0, 0)
    charges = charges_of(db, operator, "netflix")
    by_account = {c.account_id: c for c in charges.values()}
    assert sorted(c.times_received for c in charges.values()) == [1, 1, 2]
    bill = by_account[postpaid.account_id]
    assert (bill.status, bill.billed_as, bill.subscriber_amount_minor) == (
        "accepted",
        "invoice",
        STANDARD_EUR,
    )
    assert pending_charges_of(db, postpaid.account_id) == [
        ("partner_charge", STANDARD_EUR, "EUR", f"partner_charge:{bill.id}")
    ]
    assert bill.pending_charge_id is not None
    wallet = by_account[prepaid.account_id]
    assert (wallet.billed_as, wallet.subscriber_amount_minor) == ("wallet", STANDARD_EUR)
    assert wallet_of(db, prepaid.account_id, "EUR") == (
        5000 - STANDARD_EUR,
        [("top_up", 5000), ("service_debit", -STANDARD_EUR)],
    )
    assert pending_charges_of(db, prepaid.account_id) == []
    free = by_account[included.account_id]
    assert (free.billed_as, free.subscriber_amount_minor, free.amount_minor) == ("included", 0, 1549)
    assert pending_charges_of(db, included.account_id) == []
    for charge in charges.values():
        assert charge.reported_at is not None and charge.reference == f"MB-{charge.id}"
        seen = netflix.simulator.charges[charge.charge_number]
        assert (seen["status"], seen["reference_number"]) == ("APPROVED", charge.reference)
    assert events_of(db, operator) == ["partner_charge.accepted"] * 3


async def test_bad_charges_are_declined_and_never_billed(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    dear = make_member(db, operator, "netflix", allowance_minor=1000)
    pounds = make_member(db, operator, "netflix", currency="GBP")
    terminated = make_member(db, operator, "netflix", subscription_status="terminated")
    ended = make_member(db, operator, "netflix")
    odd_money = make_member(db, operator, "netflix")
    for member in (dear, pounds, terminated, ended, odd_money):
        join(netflix, member)
    with unit_of_work(db) as session:  # ended on our side, still active at the partner
        row = session.get(PartnerSubscription, ended.membership_id)
        assert row is not None
        row.status, row.end_reason = "ended", "terminated by the operator"
    sim = netflix.simulator
    sim.bill_period(PERIOD)
    stranger = sim.post_charge_for_unknown_customer(NETFLIX_OPERATOR, "acc_unknown", PERIOD)
    sim.local_currency = "ZZZ"  # a currency that does not exist
    odd = sim.post_charge_for_unknown_customer(NETFLIX_OPERATOR, odd_money.customer_id, date(2026, 4, 1))
    sim.local_currency = "EUR"

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        result = await accept(time_skipping_env, queue, operator)

    assert (result.accepted, result.reported) == (1, 7)  # odd_money's March charge is fine
    assert result.declined == 6
    charges = charges_of(db, operator, "netflix")
    reasons = {c.partner_customer_id: (c.status, (c.reason or "").split(":")[0]) for c in charges.values()}
    assert reasons[dear.customer_id] == ("declined", "above_allowance")
    assert reasons[pounds.customer_id] == ("declined", "currency_mismatch")
    assert reasons[terminated.customer_id] == ("declined", "subscription_not_active")
    assert reasons[ended.customer_id] == ("declined", "membership_not_active")
    assert reasons["acc_unknown"] == ("declined", "customer_unknown")
    assert charges[odd["charge_number"]].reason is not None
    assert charges[odd["charge_number"]].reason.startswith("currency_unknown")  # type: ignore[union-attr]
    assert charges[odd["charge_number"]].decline_status == "BAD_REQUEST"
    assert charges[stranger["charge_number"]].account_id is None
    for member in (dear, pounds, terminated, odd_money):
        assert membership_of(db, member.membership_id)[0] == "ended"
    march, _ = charges_by(charges, odd_money)
    assert pending_charges_of(db, odd_money.account_id) == [
        ("partner_charge", STANDARD_EUR, "EUR", f"partner_charge:{march}")
    ]
    assert pending_charges_of(db, dear.account_id) == []
    assert pending_charges_of(db, pounds.account_id) == []
    assert pending_charges_of(db, terminated.account_id) == []
    assert membership_of(db, dear.membership_id)[1] == (
        f"charge {charges_by(charges, dear)[1]} declined: "
        "above_allowance: 1425 EUR is above the allowance of 1000"
    )
    assert sim.charges[stranger["charge_number"]]["status"] == "DECLINED"
    assert sim.charges[odd["charge_number"]]["status"] == "BAD_REQUEST"
    assert sim.subscribers[(NETFLIX_OPERATOR, dear.customer_id)]["status"] == "ENDED"
    assert events_of(db, operator) == ["partner_charge.accepted"] + ["partner_charge.declined"] * 6


def charges_by(charges: dict[str, object], member: Member) -> tuple[str, str]:
    """(our id, the charge number) of the member's first charge."""
    for number, charge in sorted(charges.items()):
        if getattr(charge, "partner_customer_id", None) == member.customer_id:
            return str(getattr(charge, "id")), number  # noqa: B009
    raise AssertionError(f"no charge of {member.customer_id}")


async def test_more_than_50_decisions_go_in_batches_of_50(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    members = [make_member(db, operator, "netflix") for _ in range(55)]
    for member in members:
        join(netflix, member)
    assert len(netflix.simulator.bill_period(PERIOD)) == 55

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        result = await accept(time_skipping_env, queue, operator, decide_page=20)

    assert (result.fetched, result.accepted, result.reported) == (55, 55, 55)
    assert calls(netflix, "/v1/charges/accept") == 2
    assert sorted(netflix.simulator.batches) == [("accept", 5), ("accept", 50)]
    assert all(c["status"] == "APPROVED" for c in netflix.simulator.charges.values())
    with unit_of_work(db) as session:
        billed = session.execute(
            select(func.count(), func.sum(PendingCharge.amount_minor)).where(
                PendingCharge.account_id.in_([m.account_id for m in members])
            )
        ).one()
    assert tuple(billed) == (55, 55 * STANDARD_EUR)


class DiesAfterThePartnerAnswers(PartnerChargeActivities):
    """The worker dies once after the partner took the decisions, before our stamp (``dies`` times)."""

    dies = 1

    def _stamp(self, items: list[Outgoing], failed: list[FailedDecision], at: datetime) -> Stamped:
        if self.dies > 0:
            self.dies -= 1
            raise RuntimeError("worker killed between the partner's answer and our stamp")
        return super()._stamp(items, failed, at)


class NeverReports(PartnerChargeActivities):
    """A run whose reporting fails for good (the decisions stay in the database, unreported)."""

    def _stamp(self, items: list[Outgoing], failed: list[FailedDecision], at: datetime) -> Stamped:
        raise RuntimeError("worker gone")


async def test_a_crash_between_deciding_and_reporting_bills_once(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    first, second = make_member(db, operator, "netflix"), make_member(db, operator, "netflix")
    for member in (first, second):
        join(netflix, member)
    netflix.simulator.bill_period(PERIOD)

    async with acceptance_worker(
        time_skipping_env.client, settings, registry(), DiesAfterThePartnerAnswers(settings, registry())
    ) as queue:
        result = await accept(time_skipping_env, queue, operator)
    # The retry found both ALREADY_PROCESSED at the partner: reported, not failed.
    assert (result.accepted, result.reported, result.failed) == (2, 2, 0)
    assert calls(netflix, "/v1/charges/accept") == 2
    for member in (first, second):
        [(kind, amount, _, _)] = pending_charges_of(db, member.account_id)
        assert (kind, amount) == ("partner_charge", STANDARD_EUR)
    assert all(c.reported_at is not None for c in charges_of(db, operator, "netflix").values())


async def test_a_run_that_never_reported_is_reported_by_the_next(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    member = make_member(db, operator, "netflix")
    join(netflix, member)
    netflix.simulator.bill_period(PERIOD)
    never = NeverReports(settings, registry())
    async with acceptance_worker(time_skipping_env.client, settings, registry(), never) as queue:
        with pytest.raises(WorkflowFailureError):
            await accept(time_skipping_env, queue, operator)
    [charge] = charges_of(db, operator, "netflix").values()
    assert (charge.status, charge.reported_at) == ("accepted", None)
    # The partner did take it (our stamp is what failed), and the charge is billed once.
    assert netflix.simulator.charges[charge.charge_number]["status"] == "APPROVED"

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        result = await accept(time_skipping_env, queue, operator)
    assert (result.fetched, result.accepted, result.reported, result.failed) == (0, 0, 1, 0)
    [charge] = charges_of(db, operator, "netflix").values()
    assert charge.reported_at is not None and charge.report_error_code is None
    assert len(pending_charges_of(db, member.account_id)) == 1


async def test_a_slow_and_failing_partner_is_retried(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    member = make_member(db, operator, "netflix")
    join(netflix, member)
    netflix.simulator.bill_period(PERIOD)
    netflix.simulator.latency = 0.2
    netflix.simulator.fail_next = 3  # three requests answered 503: the first attempts to log in

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        result = await accept(time_skipping_env, queue, operator)
    assert (result.fetched, result.accepted, result.reported) == (1, 1, 1)
    assert pending_charges_of(db, member.account_id)[0][1] == STANDARD_EUR


async def test_decisions_the_partner_refuses_are_kept_and_not_billed(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    postpaid = make_member(db, operator, "netflix")
    prepaid = make_member(db, operator, "netflix", prepaid=True)
    top_up(db, prepaid.account_id, "EUR", 2000)
    ghosts = [  # charges the partner never sent (a bad copy, another system's numbers)
        Incoming(
            charge_number=f"GHOST{n}",
            customer_id=member.customer_id,
            partner_plan="STANDARD",
            amount_minor=1549,
            currency="USD",
            local_amount_minor=STANDARD_EUR,
            local_currency="EUR",
            paid_through=date(2026, 3, 31),
            received_at=datetime(2026, 3, 1, 9, tzinfo=UTC),
        )
        for n, member in enumerate((postpaid, prepaid))
    ]
    with unit_of_work(db) as session:
        store_received(session, operator, "netflix", ghosts, datetime(2026, 3, 1, 9, tzinfo=UTC))

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        result = await accept(time_skipping_env, queue, operator)
        again = await accept(time_skipping_env, queue, operator)
    assert (result.accepted, result.reported, result.failed) == (2, 0, 2)
    assert (again.reported, again.failed) == (0, 0)
    assert calls(netflix, "/v1/charges/accept") == 1  # refused once, never sent again
    for charge in charges_of(db, operator, "netflix").values():
        assert (charge.status, charge.report_error_code, charge.reported_at) == (
            "accepted",
            "CHARGE_NOT_FOUND",
            None,
        )
    with unit_of_work(db) as session:
        voided = session.execute(
            select(PendingCharge.status).where(PendingCharge.account_id == postpaid.account_id)
        ).scalars()
        assert list(voided) == ["void"]
    assert wallet_of(db, prepaid.account_id, "EUR") == (
        2000,
        [("top_up", 2000), ("service_debit", -STANDARD_EUR), ("reversal", STANDARD_EUR)],
    )


async def test_a_repeated_charge_for_a_paid_period_is_declined_and_billed_once(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    member = make_member(db, operator, "netflix")
    join(netflix, member)
    [first] = netflix.simulator.bill_period(PERIOD)
    # the partner charges the same period again under a new number (not a copy of the first)
    repeat = netflix.simulator.post_charge_for_unknown_customer(NETFLIX_OPERATOR, member.customer_id, PERIOD)
    assert repeat["charge_number"] != first["charge_number"]

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        result = await accept(time_skipping_env, queue, operator)

    assert (result.fetched, result.accepted, result.declined, result.reported) == (2, 1, 1, 2)
    charges = charges_of(db, operator, "netflix")
    assert charges[first["charge_number"]].status == "accepted"
    again = charges[repeat["charge_number"]]
    assert (again.status, again.decline_status, (again.reason or "").split(":")[0]) == (
        "declined",
        "DECLINED",
        "period_already_paid",
    )
    assert again.pending_charge_id is None and again.subscriber_amount_minor is None
    assert pending_charges_of(db, member.account_id) == [
        ("partner_charge", STANDARD_EUR, "EUR", f"partner_charge:{charges[first['charge_number']].id}")
    ]
    assert netflix.simulator.charges[repeat["charge_number"]]["status"] == "DECLINED"


async def test_a_prepaid_wallet_short_of_a_charge_declines_it_and_moves_nothing(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    short = make_member(db, operator, "netflix", prepaid=True)
    top_up(db, short.account_id, "EUR", STANDARD_EUR - 1)
    join(netflix, short)
    [posted] = netflix.simulator.bill_period(PERIOD)

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        result = await accept(time_skipping_env, queue, operator)

    assert (result.accepted, result.declined, result.reported) == (0, 1, 1)
    charge = charges_of(db, operator, "netflix")[posted["charge_number"]]
    assert (charge.status, (charge.reason or "").split(":")[0]) == ("declined", "wallet_insufficient_funds")
    assert wallet_of(db, short.account_id, "EUR") == (STANDARD_EUR - 1, [("top_up", STANDARD_EUR - 1)])
    assert pending_charges_of(db, short.account_id) == []
    assert membership_of(db, short.membership_id)[0] == "ended"
    assert netflix.simulator.charges[posted["charge_number"]]["status"] == "DECLINED"


class DiesAfterDeciding(PartnerChargeActivities):
    """The worker dies once after a page's decisions and billing are committed, before Temporal hears."""

    dies = 1

    @activity.defn(name="decide_partner_charges")
    def decide(self, request: DecideInput) -> Decided:
        decided = super().decide(request)
        if self.dies > 0:
            self.dies -= 1
            raise RuntimeError("worker killed after the decisions were recorded")
        return decided


async def test_a_worker_dying_after_accepting_and_recording_bills_once(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    postpaid = make_member(db, operator, "netflix")
    prepaid = make_member(db, operator, "netflix", prepaid=True)
    top_up(db, prepaid.account_id, "EUR", 5000)
    for member in (postpaid, prepaid):
        join(netflix, member)
    netflix.simulator.bill_period(PERIOD)

    dying = DiesAfterDeciding(settings, registry())
    async with acceptance_worker(time_skipping_env.client, settings, registry(), dying) as queue:
        result = await accept(time_skipping_env, queue, operator)

    assert dying.dies == 0  # it did die once
    # The retried page found nothing left to decide; what the first attempt decided is reported once.
    assert (result.fetched, result.accepted, result.reported, result.failed) == (2, 0, 2, 0)
    [(kind, amount, _, _)] = pending_charges_of(db, postpaid.account_id)
    assert (kind, amount) == ("partner_charge", STANDARD_EUR)
    assert wallet_of(db, prepaid.account_id, "EUR") == (
        5000 - STANDARD_EUR,
        [("top_up", 5000), ("service_debit", -STANDARD_EUR)],
    )
    assert sorted(c.status for c in charges_of(db, operator, "netflix").values()) == ["accepted", "accepted"]
    assert sorted(s for _, s in netflix.simulator.batches) == [2]


async def test_a_partner_too_slow_for_the_timeout_is_retried_and_bills_once(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    member = make_member(db, operator, "netflix")
    join(netflix, member)
    netflix.simulator.bill_period(PERIOD)
    netflix.simulator.slow_next, netflix.simulator.slow_seconds = 2, 1.5  # beyond the 0.5 s timeout
    impatient = PartnerRegistry()
    impatient.register(NetflixProvider(timeout_seconds=0.5))

    async with acceptance_worker(time_skipping_env.client, settings, impatient) as queue:
        result = await accept(time_skipping_env, queue, operator)

    assert netflix.simulator.slow_next == 0
    assert (result.fetched, result.accepted, result.reported, result.failed) == (1, 1, 1, 0)
    assert len(pending_charges_of(db, member.account_id)) == 1
    assert netflix.simulator.batches == [("accept", 1)]


async def test_an_included_charge_costs_the_subscriber_nothing_and_is_settled_with_the_partner(
    time_skipping_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    operator = operator_with_netflix(settings, netflix)
    included = make_member(db, operator, "netflix", included=True)
    join(netflix, included)
    [posted] = netflix.simulator.bill_period(PERIOD)

    async with acceptance_worker(time_skipping_env.client, settings, registry()) as queue:
        handle = await time_skipping_env.client.start_workflow(
            NetflixChargeAcceptanceWorkflow.run,
            AcceptanceInput(organisation_id=operator, provider="netflix"),
            id=f"partner-charges-test-{uuid.uuid4().hex[:8]}",
            task_queue=queue.task_queue,
        )
        result = await handle.result()
        status = await handle.query(NetflixChargeAcceptanceWorkflow.status)

    assert (result.accepted, result.reported) == (1, 1)
    # per run in the Temporal UI: the status query tells the step and the counts
    assert status.step == "done: 1 fetched (0 repeats), 1 accepted, 0 declined, 1 reported, 0 failed"
    assert status.counts == result and status.errors == []
    charge = charges_of(db, operator, "netflix")[posted["charge_number"]]
    assert (charge.status, charge.billed_as, charge.subscriber_amount_minor) == ("accepted", "included", 0)
    assert (charge.amount_minor, charge.currency) == (1549, "USD")  # what the partner is owed
    assert pending_charges_of(db, included.account_id) == []
    assert charge.decided_at is not None

    month = charge.decided_at.astimezone(UTC).date().replace(day=1)  # the connection's zone is UTC
    with unit_of_work(db) as session:
        made = settle_month(session, operator, "netflix", month)
        statement = (made.settlement.id, made.settlement.charge_count, made.settlement.charged_minor)
    assert statement[1:] == (1, 1549)
    assert charges_of(db, operator, "netflix")[posted["charge_number"]].settlement_id == statement[0]

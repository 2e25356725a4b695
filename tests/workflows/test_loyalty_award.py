"""LoyaltyAward on the time-skipping server: the workflow evaluates every rule, applies the awards page
by page and reports counts and cost per rule; a page that fails mid-transaction (rolled back) and one
that fails after its commit (the worker lost the answer) are retried with nothing awarded twice or
missed."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import sqlalchemy as sa
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.loyalty import awards, evaluation, run_points
from activities.loyalty.activities import LoyaltyActivities
from activities.loyalty.io import (
    ApplyPage,
    AwardRunInput,
    EvaluateRule,
    EvaluateRun,
    PageApplied,
    RuleEvaluated,
    RunEvaluated,
)
from models.base import engine_for, unit_of_work
from models.loyalty import LoyaltyRule
from runtime.settings import Settings
from tests.support.factories import make_operator
from tests.support.loyalty_support import awarded, customer, programme, rule, scalar
from workflows.loyalty_award import LoyaltyAwardWorkflow

ACCOUNTS = 5


class Crashing(Exception):
    """The worker dies here."""


class FlakyLoyaltyActivities(LoyaltyActivities):
    """The first page fails before its commit, the second after it (its answer lost); then all is well.
    The same for the first two evaluations (which apply points awards in their statement): of a rule
    (runs before the one-statement patch) or of the whole run."""

    calls = 0
    evaluations = 0

    @activity.defn(name="evaluate_loyalty_rule")
    def evaluate_rule(self, request: EvaluateRule) -> RuleEvaluated:
        type(self).evaluations += 1
        if type(self).evaluations == 1:
            with unit_of_work(self.url) as session:
                found = session.get(LoyaltyRule, request.rule_id)
                assert found is not None
                evaluation.evaluate(session, request.run_id, found, request.period, request.on)
                raise Crashing("killed before the commit")
        answer = super().evaluate_rule(request)
        if type(self).evaluations == 2:
            raise Crashing("killed after the commit")
        return answer

    @activity.defn(name="evaluate_loyalty_run")
    def evaluate_run(self, request: EvaluateRun) -> RunEvaluated:
        type(self).evaluations += 1
        if type(self).evaluations == 1:
            with unit_of_work(self.url) as session:
                found = [session.get(LoyaltyRule, rule_id) for rule_id in request.rule_ids]
                rules = [each for each in found if each is not None]
                run_points.evaluate_run(
                    session, request.run_id, rules, request.period, request.on, request.part, request.parts
                )
                raise Crashing("killed before the commit")
        answer = super().evaluate_run(request)
        if type(self).evaluations == 2:
            raise Crashing("killed after the commit")
        return answer

    @activity.defn(name="apply_loyalty_awards")
    def apply_page(self, request: ApplyPage) -> PageApplied:
        type(self).calls += 1
        if type(self).calls == 1:
            with unit_of_work(self.url) as session:
                awards.apply_page(session, request.run_id, request.organisation_id, request.limit, request.on)
                raise Crashing("killed before the commit")
        answer = super().apply_page(request)
        if type(self).calls == 2:
            raise Crashing("killed after the commit")
        return answer


async def test_a_run_survives_failed_pages_and_awards_each_account_once(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    url = settings.database_url or ""
    org = make_operator(url).organisation_id
    programme(url, org, value="2")
    members = [
        customer(url, org, since=date(2024, 1, 1), kinds=("video", "broadband")) for _ in range(ACCOUNTS)
    ]
    rule(
        url,
        org,
        "tenure",
        {"criterion": {"kind": "maturity", "months_active": 24}, "award": {"kind": "points", "points": 25}},
    )
    rule(
        url,
        org,
        "duo",
        {
            "criterion": {"kind": "services", "product_kinds": ["video", "broadband"]},
            "award": {"kind": "wallet_credit", "amount_minor": 150, "currency": "EUR"},
        },
    )
    queue = f"loyalty-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            time_skipping_env.client,
            task_queue=queue,
            workflows=[LoyaltyAwardWorkflow],
            activities=FlakyLoyaltyActivities(settings).all(),
            activity_executor=pool,
        ):
            report = await time_skipping_env.client.execute_workflow(
                LoyaltyAwardWorkflow.run,
                AwardRunInput(organisation_id=org, period="2026-03", on=date(2026, 4, 1), page_size=3),
                id=f"loyalty-{org}-2026-03",
                task_queue=queue,
            )
    # The points awards are applied by the evaluation; the 5 wallet credits in pages of 3, two failed once.
    assert FlakyLoyaltyActivities.calls >= 3
    assert FlakyLoyaltyActivities.evaluations == 4  # the run's two parts: failed twice, then done
    assert {r.code: (r.awards, r.applied, r.points, r.amount_minor, r.cost_minor) for r in report.rules} == {
        "duo": (ACCOUNTS, ACCOUNTS, 0, 150 * ACCOUNTS, 150 * ACCOUNTS),
        "tenure": (ACCOUNTS, ACCOUNTS, 25 * ACCOUNTS, 0, 50 * ACCOUNTS),
    }
    assert report.status == "completed" and report.period == "2026-03"
    assert len(awarded(url, org)) == 2 * ACCOUNTS
    for member in members:
        acc = member.account_id
        assert scalar(url, "select balance from loyalty_point_balances where account_id = :a", a=acc) == 25
        assert scalar(url, "select count(*) from loyalty_point_movements where account_id = :a", a=acc) == 1
        assert scalar(url, "select balance_minor from wallets where account_id = :a", a=acc) == 150
        wallet_txs = (
            "select count(*) from wallet_transactions t join wallets w on w.id = t.wallet_id"
            " where w.account_id = :a"
        )
        assert scalar(url, wallet_txs, a=acc) == 1
    with engine_for(url).connect() as conn:
        ledger = conn.execute(
            sa.text(
                "select p.ledger_account, sum(p.debit_minor), sum(p.credit_minor) from ledger_postings p"
                " join ledger_entries e on e.id = p.entry_id where e.organisation_id = :o"
                " group by 1 order by 1"
            ),
            {"o": org},
        ).all()
    assert [tuple(r) for r in ledger] == [("marketing:loyalty", 750, 0), ("wallet", 0, 750)]


async def test_points_awards_are_applied_by_the_evaluation_and_a_second_run_adds_nothing(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    url = settings.database_url or ""
    org = make_operator(url).organisation_id
    programme(url, org, value="1", expiry_months=6)
    members = [customer(url, org, since=date(2025, 1, 1)).account_id for _ in range(3)]
    rule(
        url,
        org,
        "tenure",
        {"criterion": {"kind": "maturity", "months_active": 12}, "award": {"kind": "points", "points": 40}},
    )
    queue = f"loyalty-{uuid.uuid4().hex[:8]}"
    request = AwardRunInput(organisation_id=org, period="2026-03", on=date(2026, 4, 1), page_size=2)
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            time_skipping_env.client,
            task_queue=queue,
            workflows=[LoyaltyAwardWorkflow],
            activities=LoyaltyActivities(settings).all(),
            activity_executor=pool,
        ):
            first = await time_skipping_env.client.execute_workflow(
                LoyaltyAwardWorkflow.run, request, id=f"loyalty-{org}-2026-03", task_queue=queue
            )
            again = await time_skipping_env.client.execute_workflow(
                LoyaltyAwardWorkflow.run, request, id=f"loyalty-{org}-2026-03-again", task_queue=queue
            )
    assert [(r.code, r.awards, r.applied, r.points, r.cost_minor) for r in first.rules] == [
        ("tenure", 3, 3, 120, 120)
    ]
    assert again == first.model_copy(update={"status": again.status}) and again.run_id == first.run_id
    for acc in members:
        movements = (
            "select count(*), sum(points), max(expires_on)::text from loyalty_point_movements"
            " where account_id = :a"
        )
        with engine_for(url).connect() as conn:
            assert tuple(conn.execute(sa.text(movements), {"a": acc}).one()) == (1, 40, "2026-10-01")
        assert scalar(url, "select balance from loyalty_point_balances where account_id = :a", a=acc) == 40
    events = "select count(*) from business_events where type = 'loyalty.awarded' and organisation_id = :o"
    assert scalar(url, events, o=org) == 3

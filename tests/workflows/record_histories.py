"""Record workflow histories from the existing scenario tests: ``python -m tests.workflows.record_histories``.

It runs the tests in ``SCENARIOS`` with a pytest plugin that remembers every workflow a test starts
(through ``Client.start_workflow``, so also what the API starts) and, when the test has run, stores the
history of each of those workflows and of their child workflows that completed or failed, as
``histories/<workflow_type>_<scenario>.json`` (``_2``, ``_3``… for further runs of one type in a test).
Existing files are kept: commit the new ones, and ``test_replay.py`` replays them all from then on.

    python -m tests.workflows.record_histories            # every scenario
    python -m tests.workflows.record_histories dunning    # the scenarios whose test id contains "dunning"
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sys
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.client import Client

from tests.workflows.history_store import (
    HISTORIES,
    closed,
    registered_types,
    snake,
    store,
    stored_files,
    workflow_type_of,
)


@dataclass(frozen=True)
class Scenario:
    """A test to run, the scenario name its histories get, and the workflow types to keep (empty: all)."""

    test: str  # "<file under tests/>::<test function>"
    name: str
    types: frozenset[str] = frozenset()

    @property
    def nodeid(self) -> str:
        return f"tests/{self.test}"


def _scenario(test: str, name: str, *types: str) -> Scenario:
    return Scenario(test, name, frozenset(types))


VERIFY = "workflows/test_account_verification.py::test_"
SUBS = "workflows/test_subscription_workflows.py::test_"
SWAP = "workflows/test_device_swap.py::test_"
DEMAND = "workflows/test_on_demand.py::test_"
DEMAND_STARTS = "workflows/test_on_demand_starts.py::test_a_rental_"
TICKETS = "workflows/test_ticket_escalation.py::test_"
SCENARIOS = [
    _scenario(f"{VERIFY}confirmed_account_is_verified", "confirmed"),
    _scenario(f"{VERIFY}unconfirmed_account_is_unverified_after_48_hours", "expired"),
    _scenario(f"{VERIFY}rejected_email_ends_unverified_without_waiting", "rejected_email"),
    _scenario(f"{SUBS}scheduled_downgrade_applies_on_its_date", "scheduled_downgrade"),
    _scenario(  # before the onboarding-local-steps patch: compensated
        f"{SUBS}onboarding_compensates_on_the_time_skipping_server", "compensated_local_steps", "Onboarding"
    ),
    _scenario(  # before the onboarding-one-opening-step patch
        "workflows/test_onboarding_local_steps.py::test_onboarding_runs_its_database_steps_as_local_activities",
        "local_steps",
        "Onboarding",
    ),
    _scenario(
        "workflows/test_onboarding_local_steps.py::test_onboarding_runs_its_database_steps_as_local_activities",
        "one_opening_step",
        "Onboarding",
    ),
    _scenario(f"{SUBS}suspend_resume_terminate_and_regret_paths", "lifecycle", "SubscriptionAction"),
    _scenario(
        "workflows/test_dunning.py::test_the_ladder_retries_warns_suspends_terminates_and_writes_off",
        "written_off",
        "Dunning",
    ),
    _scenario(
        "workflows/test_dunning.py::test_a_payment_stops_dunning_and_resumes_services",
        "paid_after_suspension",
        "Dunning",
        "SubscriptionAction",
    ),
    _scenario(f"{DEMAND}rental_is_deprovisioned_after_48_hours", "expired"),
    _scenario(f"{DEMAND}seven_day_pass_revoked_early", "revoked"),
    _scenario(f"{DEMAND}refused_activation_ends_without_deprovisioning", "refused"),
    _scenario(f"{DEMAND_STARTS}sold_at_onboarding_is_deprovisioned_after_48_hours", "rental", "Onboarding"),
    _scenario(f"{DEMAND_STARTS}bought_as_an_addon_is_deprovisioned_after_48_hours", "rental", "PlanChange"),
    _scenario(f"{SWAP}damaged_box_is_swapped_and_charged", "damaged_notified"),
    _scenario(f"{SWAP}stolen_router_goes_lost_without_a_fee", "stolen"),
    _scenario(f"{SWAP}refused_activation_is_compensated", "compensated"),
    _scenario(f"{SWAP}a_failed_fee_undoes_the_stock_moves", "fee_failed"),
    _scenario(
        "integration/test_subscriptions_api.py::test_upgrade_now_prorates_and_reprovisions",
        "upgrade_now",
        "PlanChange",
    ),
    _scenario(
        "integration/test_subscriptions_api.py::test_onboarding_reserves_and_hands_over_a_device",
        "device",
        "Onboarding",
    ),
    _scenario("integration/test_prepaid.py::test_prepaid_onboarding_and_renewal", "prepaid"),
    _scenario(
        "integration/test_billing_runs.py::test_pending_charges_tax_ledger_and_dry_run",
        "pages",
        "BillingCycle",
        "Collection",
    ),
    _scenario(  # since the billing-plans-page-ends patch: the pages planned as their last ids
        "integration/test_billing_churn.py::"
        "test_a_subscription_in_arrears_is_not_closed_before_its_last_period_is_billed",
        "page_ends",
        "BillingCycle",
    ),
    _scenario(
        "integration/test_billing_rates_usage.py::test_the_bill_run_rates_accepted_calls_before_invoicing",
        "rates_usage",
        "BillingCycle",
        "Collection",
    ),
    _scenario(
        "integration/test_billing_runs.py::test_kill_bill_bcd_31_through_a_real_bill_run",
        "opens_its_row",
        "BillingCycle",
    ),
    _scenario(
        "integration/test_payments_stripe.py::test_a_card_is_stored_as_token_and_collected_once",
        "card",
        "CollectNow",
    ),
    _scenario(
        "integration/test_payments_stripe.py::test_a_card_refund_goes_to_the_gateway_and_the_ledger",
        "card",
        "PaymentRefund",
    ),
    _scenario(
        "integration/test_wallets.py::test_cash_and_card_top_ups_history_and_ledger", "card", "WalletTopUp"
    ),
    _scenario(
        "integration/test_wallets.py::test_bad_top_ups_are_refused_and_move_nothing",
        "declined",
        "WalletTopUp",
    ),
    _scenario(
        "integration/test_provisioning_api.py::test_failed_orders_are_listed_and_re_run",
        "re_run",
        "ProvisioningRetry",
    ),
    _scenario(
        "integration/test_provisioning_api.py::test_resync_fixes_the_differences_and_reports",
        "resync",
        "ProvisioningResync",
    ),
    _scenario(
        "integration/test_collection_workflow.py"
        "::test_collection_charges_in_batches_and_starts_dunning_for_failures",
        "declined_card",
        "Collection",
    ),
    _scenario(
        "workflows/test_webhooks.py::test_failures_and_time_outs_are_retried_in_order_per_object", "in_order"
    ),
    _scenario(
        "workflows/test_webhooks.py::test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_told",
        "disabled",
    ),
    _scenario(
        "workflows/test_webhooks.py::test_a_sender_sends_objects_together_and_each_objects_events_in_order",
        "batches",
        "WebhookSender",
    ),
    _scenario(
        "workflows/test_webhooks.py::test_the_relay_fans_out_delivers_and_redelivers_by_hand",
        "relay",
        "WebhookRelay",
    ),
    _scenario("workflows/test_event_retention.py::test_events_past_retention_are_pruned", "pruned"),
    _scenario(
        "workflows/test_partition_maintenance.py::test_the_daily_run_keeps_the_coming_months_ready", "daily"
    ),
    _scenario(
        "workflows/test_partner_signup.py"
        "::test_onboarding_a_netflix_bundle_signs_up_and_activates_the_membership",
        "netflix_bundle",
        "Onboarding",
        "PartnerSignUp",
    ),
    _scenario(
        "workflows/test_partner_signup.py::test_a_plan_change_and_a_termination_reach_the_simulator",
        "netflix",
        "PlanChange",
        "SubscriptionAction",
    ),
    _scenario("workflows/test_partner_charges.py::test_a_period_is_accepted_and_billed_once", "period"),
    _scenario(
        "workflows/test_partner_charges.py::test_a_crash_between_deciding_and_reporting_bills_once", "crash"
    ),
    _scenario(
        "integration/test_partner_charges_api.py::"
        "test_signed_pushed_charges_are_accepted_and_a_repeat_counted_once",
        "pushed",
        "NetflixChargeAcceptance",
    ),
    _scenario(
        "integration/test_mobile_money_payments.py"
        "::test_a_wallet_top_up_is_credited_once_the_subscriber_approves",
        "mobile_money",
        "WalletTopUp",
    ),
    _scenario(f"{TICKETS}a_breach_escalates_twice_and_notifies_the_supervisors", "escalated"),
    _scenario(f"{TICKETS}waiting_on_the_customer_pauses_the_clock_across_a_weekend_and_a_holiday", "paused"),
    _scenario(f"{TICKETS}a_reopened_ticket_re_arms_its_clock", "reopened"),
    _scenario(
        "workflows/test_notification_relay.py::test_the_relay_sends_retries_once_and_continues_as_new",
        "retried_once",
        "NotificationRelay",
    ),
    _scenario(
        "workflows/test_segment_refresh.py::test_every_segment_of_the_operator_is_refreshed_in_pages", "pages"
    ),
    _scenario(
        "workflows/test_segment_refresh.py::test_one_segment_on_demand_and_a_deleted_one_skipped", "on_demand"
    ),
    _scenario(
        "workflows/test_loyalty_award.py::test_a_run_survives_failed_pages_and_awards_each_account_once",
        "heartbeats_failed_steps",  # before the heartbeats patch: one_statement_failed_steps, failed_pages
        "LoyaltyAward",
    ),
    _scenario(
        "workflows/test_partner_settlement.py"
        "::test_the_scheduled_run_settles_last_month_exactly_once_when_run_twice",
        "last_month",
        "PartnerSettlement",
    ),
    _scenario(
        "workflows/test_stolen_device_swap.py::test_a_stolen_device_stays_out_of_service_when_no_replacement_is_in_stock",
        "stolen_blocked_first",
        "DeviceSwap",
    ),
    _scenario(
        "workflows/test_loyalty_award.py::"
        "test_points_awards_are_applied_by_the_evaluation_and_a_second_run_adds_nothing",
        "heartbeats",  # before the heartbeats patch: one_statement, points_at_evaluation
        "LoyaltyAward",
    ),
]
BY_NODE = {scenario.nodeid: scenario for scenario in SCENARIOS}


@dataclass
class Started:
    client: Client
    workflow_id: str
    run_id: str | None


@dataclass(eq=False)  # a pytest plugin must stay hashable (pluggy keeps plugins in sets)
class Recorder:
    """The pytest plugin: remembers the workflows a scenario test starts and stores their histories."""

    written: list[str] = field(default_factory=list)
    started: list[Started] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        original = Client.start_workflow
        recorder = self

        @functools.wraps(original)
        async def start_workflow(client: Client, *args: Any, **kwargs: Any) -> Any:
            handle = await original(client, *args, **kwargs)
            recorder.loop = asyncio.get_running_loop()
            recorder.started.append(Started(client, handle.id, handle.result_run_id))
            return handle

        Client.start_workflow = start_workflow  # type: ignore[method-assign,assignment]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        self.started = []
        try:
            return (yield)
        finally:
            scenario = BY_NODE.get(item.nodeid)
            if scenario and self.started and self.loop is not None:
                # the test's fixtures (and so its Temporal server) are still up until teardown
                self.loop.run_until_complete(self._store(scenario.name, scenario.types))

    async def _store(self, scenario: str, types: frozenset[str]) -> None:
        kept: dict[str, list[tuple[str, str]]] = {}  # type -> [(workflow id, history)] in start order
        seen: set[str] = set()
        pending = list(self.started)
        while pending:
            run = pending.pop(0)
            if run.workflow_id in seen:
                continue
            seen.add(run.workflow_id)
            # the run the test started (a process that continued as new has later runs)
            history = await run.client.get_workflow_handle(run.workflow_id, run_id=run.run_id).fetch_history()
            text = history.to_json()
            pending.extend(Started(run.client, child, None) for child in _children(text))
            kind = workflow_type_of(text)
            if (not types or kind in types) and closed(text):
                kept.setdefault(kind, []).append((run.workflow_id, text))
        for kind, runs in kept.items():
            names = _names(f"{snake(kind)}_{scenario}", [workflow_id for workflow_id, _ in runs])
            for name, (_, text) in zip(names, runs, strict=True):
                path = store(name, text)
                if path is not None:
                    self.written.append(path.name)


def _names(base: str, workflow_ids: list[str]) -> list[str]:
    """``base`` for a single run; with several, ``base_<first word of the id>`` (``suspend-sub_1`` ->
    ``_suspend``), or ``base_<n>`` when those words do not tell the runs apart."""
    if len(workflow_ids) == 1:
        return [base]
    words = [re.split(r"[^a-z]", wid, maxsplit=1)[0] for wid in workflow_ids]
    if all(words) and len(set(words)) == len(words):
        return [f"{base}_{word}" for word in words]
    return [f"{base}_{n}" for n in range(1, len(workflow_ids) + 1)]


def _children(history_json: str) -> Iterable[str]:
    for event in json.loads(history_json)["events"]:
        started = event.get("childWorkflowExecutionStartedEventAttributes")
        if started:
            yield str(started["workflowExecution"]["workflowId"])


def main(argv: list[str]) -> int:
    chosen = [s.nodeid for s in SCENARIOS if not argv or any(word in s.nodeid for word in argv)]
    recorder = Recorder()
    code = pytest.main(["-q", "-p", "no:cacheprovider", *chosen], plugins=[recorder])
    print(f"\nwrote {len(recorder.written)} new histories to {HISTORIES}:")
    for name in recorder.written:
        print(f"  {name}")
    have = {workflow_type_of(path.read_text()) for path in stored_files()}
    missing = [name for name in registered_types() if name not in have]
    if missing:
        print(f"registered workflow types still without a history: {', '.join(missing)}")
        return 1
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The Temporal worker: which workflows and activities Multibill runs, and how it runs them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from rich.console import Console
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities.accounts.activities import VerificationActivities
from activities.billing.activities import BillingActivities, RunRowActivities
from activities.care.activities import CareActivities
from activities.devices.activities import DeviceActivities
from activities.dunning.activities import DunningActivities
from activities.events.activities import RetentionActivities
from activities.loyalty.activities import LoyaltyActivities
from activities.maintenance.activities import PartitionActivities
from activities.notifications.activities import NotificationActivities
from activities.notifications.io import NotifyRelayInput
from activities.offers.activities import OfferActivities
from activities.partner_charges.activities import PartnerChargeActivities
from activities.partners.activities import PartnerActivities, PartnerSettlementActivities
from activities.payments.activities import PaymentActivities, RefundActivities
from activities.provisioning.activities import ProvisioningActivities, RepairActivities
from activities.segments.activities import SegmentActivities
from activities.subscriptions.activities import (
    ChangeActivities,
    FundedResumeActivities,
    OnDemandActivities,
    PrepaidActivities,
    SubscriptionActivities,
)
from activities.usage.activities import UsageActivities
from activities.wallets.activities import WalletActivities, WalletTopUpActivities
from activities.webhooks.activities import WebhookActivities
from activities.webhooks.io import RelayInput
from domain import process_ids
from runtime import telemetry
from runtime.notifiers import build_notifiers, chosen_notifier
from runtime.partners import build_partner_registry
from runtime.payments import build_gateways
from runtime.provisioning import build_registry
from runtime.sandbox import workflow_runner
from runtime.settings import Settings
from runtime.temporal import PROCESS, connect, ensure_search_attributes
from workflows.account_verification import AccountVerificationWorkflow
from workflows.billing_cycle import BillingCycleWorkflow
from workflows.collection import CollectionWorkflow
from workflows.device_swap import DeviceSwapWorkflow
from workflows.dunning import DunningWorkflow
from workflows.event_retention import EventRetentionWorkflow
from workflows.loyalty_award import LoyaltyAwardWorkflow
from workflows.notifications import NotificationRelayWorkflow
from workflows.on_demand import OnDemandAccessWorkflow
from workflows.onboarding import OnboardingWorkflow
from workflows.partition_maintenance import PartitionMaintenanceWorkflow
from workflows.partner_charges import NetflixChargeAcceptanceWorkflow
from workflows.partner_settlement import PartnerSettlementWorkflow
from workflows.partners import PartnerSignUpWorkflow
from workflows.payment_actions import CollectNowWorkflow, PaymentRefundWorkflow
from workflows.prepaid_resume import PrepaidResumeWorkflow
from workflows.provisioning_repair import ProvisioningResyncWorkflow, ProvisioningRetryWorkflow
from workflows.segment_refresh import SegmentRefreshWorkflow
from workflows.subscription_change import PlanChangeWorkflow, SubscriptionActionWorkflow
from workflows.ticket_escalation import TicketEscalationWorkflow
from workflows.wallet_top_up import WalletTopUpWorkflow
from workflows.webhooks import WebhookDeliveryWorkflow, WebhookRelayWorkflow, WebhookSenderWorkflow

ACTIVITY_THREADS = 32

# Every workflow the worker runs. Add new lifecycle processes here (and their activities below).
WORKFLOWS: list[type] = [
    AccountVerificationWorkflow,
    OnboardingWorkflow,
    BillingCycleWorkflow,
    DunningWorkflow,
    PlanChangeWorkflow,
    SubscriptionActionWorkflow,
    DeviceSwapWorkflow,
    OnDemandAccessWorkflow,
    CollectionWorkflow,
    CollectNowWorkflow,
    PaymentRefundWorkflow,
    WalletTopUpWorkflow,
    PrepaidResumeWorkflow,
    ProvisioningRetryWorkflow,
    ProvisioningResyncWorkflow,
    WebhookRelayWorkflow,
    WebhookDeliveryWorkflow,
    WebhookSenderWorkflow,
    EventRetentionWorkflow,
    PartitionMaintenanceWorkflow,
    PartnerSignUpWorkflow,
    NetflixChargeAcceptanceWorkflow,
    TicketEscalationWorkflow,
    NotificationRelayWorkflow,
    SegmentRefreshWorkflow,
    LoyaltyAwardWorkflow,
    PartnerSettlementWorkflow,
]


def activities_for(settings: Settings) -> list[Callable[..., Any]]:
    """Every activity callable, bound to the given settings."""
    notifier = chosen_notifier(settings, build_notifiers(settings))
    gateways = build_gateways(settings)
    registry = build_registry(settings)
    partners = build_partner_registry(settings)
    return [
        *VerificationActivities(settings, notifier).all(),
        *SubscriptionActivities(settings, notifier).all(),
        *ChangeActivities(settings).all(),
        *BillingActivities(settings).all(),
        *RunRowActivities(settings).all(),
        *DunningActivities(settings, notifier).all(),
        *WalletActivities(settings, notifier).all(),
        *PrepaidActivities(settings).all(),
        UsageActivities(settings).rate_usage_batch,
        ProvisioningActivities(settings, registry).provision_service,
        *RepairActivities(settings, registry).all(),
        OnDemandActivities(settings).end_on_demand_service,
        *DeviceActivities(settings).all(),
        *PaymentActivities(settings, gateways).all(),
        *RefundActivities(settings, gateways).all(),
        *WalletTopUpActivities(settings, gateways).all(),
        *FundedResumeActivities(settings).all(),
        *WebhookActivities(settings, notifier).all(),
        *RetentionActivities(settings).all(),
        *PartitionActivities(settings).all(),
        *PartnerActivities(settings, partners).all(),
        *PartnerSettlementActivities(settings).all(),
        *PartnerChargeActivities(settings, partners).all(),
        *CareActivities(settings).all(),
        *NotificationActivities(settings, notifier).all(),
        *SegmentActivities(settings).all(),
        *OfferActivities(settings).all(),
        *LoyaltyActivities(settings).all(),
    ]


def _activity_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="multibill-activity")


def build_worker(
    client: Client,
    settings: Settings,
    *,
    activity_executor: Executor | None = None,
    activities: list[Callable[..., Any]] | None = None,
) -> Worker:
    """A worker on ``settings.task_queue``; sync activities run on a thread pool of ``ACTIVITY_THREADS``.

    ``activities`` replaces the default set (tests pass activities with a fake notifier).
    """
    executor = activity_executor or _activity_pool()
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=activities if activities is not None else activities_for(settings),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        workflow_runner=workflow_runner(),
        # On shutdown (SIGTERM) polling stops at once; running activities get this long to finish.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
    )


async def start_webhook_relay(client: Client, settings: Settings) -> None:
    """Start the platform's one WebhookRelay unless it runs already (a fixed id: idempotent)."""
    await client.start_workflow(
        WebhookRelayWorkflow.run,
        RelayInput(),
        id=process_ids.WEBHOOK_RELAY,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="Delivers business events to integrators' webhook endpoints",
        search_attributes=TypedSearchAttributes([SearchAttributePair(PROCESS, "WebhookRelay")]),
    )


async def start_notification_relay(client: Client, settings: Settings) -> None:
    """Start the platform's one NotificationRelay unless it runs already (a fixed id: idempotent)."""
    await client.start_workflow(
        NotificationRelayWorkflow.run,
        NotifyRelayInput(),
        id=process_ids.NOTIFICATION_RELAY,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary="Turns business events into notifications and sends them",
        search_attributes=TypedSearchAttributes([SearchAttributePair(PROCESS, "NotificationRelay")]),
    )


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Connect to Temporal, start the webhook relay if it is not running, and run the worker until
    ``stop`` is set (then shut down gracefully: running activities may finish) or it is cancelled.

    Refuses the development secrets in production, as the API does."""
    settings.require_safe_secret()
    client = await connect(
        settings, interceptors=telemetry.client_interceptors(), runtime=telemetry.worker_runtime(settings)
    )
    await ensure_search_attributes(client, settings.temporal_namespace)
    activities = activities_for(settings)  # plug-ins load once: a broken one logged once, a clash stops
    await start_webhook_relay(client, settings)
    await start_notification_relay(client, settings)
    with _activity_pool() as executor:
        worker = build_worker(client, settings, activity_executor=executor, activities=activities)
        Console().print(
            f"[bold green]worker[/] polling task queue [cyan]{settings.task_queue}[/] "
            f"on {settings.temporal_address} ({len(WORKFLOWS)} workflows, {len(activities)} activities)"
        )
        if settings.worker_metrics_address:
            Console().print(f"  Temporal SDK metrics at http://{settings.worker_metrics_address}/metrics")
        if stop is None:
            await worker.run()
            return
        running = asyncio.ensure_future(worker.run())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not running.done():
            Console().print(
                f"[bold yellow]worker[/] stopping: running activities have "
                f"{settings.worker_graceful_shutdown_seconds:g}s to finish"
            )
            await worker.shutdown()
        await running

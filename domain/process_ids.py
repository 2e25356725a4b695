"""The ids Multibill gives its processes (Temporal workflow ids), each rule spelled once.

An id is the process's identity forever: stored histories, running processes and ``process_id``
columns hold it, and a start with an id already used finds the first process. Never change a rule's
output; add a new rule instead. ``ProcessLabels`` is what staff find a process by (its search
attributes, readable summary and memo), whoever starts it: a route or a parent workflow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def request_digest(key: str, length: int = 16) -> str:
    """The first ``length`` hex digits of the SHA-256 of a request's Idempotency-Key."""
    return hashlib.sha256(key.encode()).hexdigest()[:length]


def onboarding(subscription_id: str) -> str:
    """Onboarding of a new subscription (one per subscription)."""
    return f"onboarding-{subscription_id}"


def requested(kind: str, subject: str, key: str) -> str:
    """A process a request asks for on one subject: the same Idempotency-Key finds the same process."""
    return f"{kind}-{subject}-{request_digest(key)}"


def subscription_request(kind: str, subscription_id: str, key: str) -> str:
    """A PlanChange (``kind`` ``change``) or SubscriptionAction (``suspend``, ``resume``, ``terminate``,
    ``regret``) asked for by a request."""
    return requested(kind, subscription_id, key)


def collect_now(invoice_id: str, key: str) -> str:
    """CollectNow: staff collecting an invoice at once."""
    return requested("collect", invoice_id, key)


def payment_refund(payment_id: str, key: str) -> str:
    """PaymentRefund of a payment taken through a gateway."""
    return requested("refund", payment_id, key)


def wallet_top_up(account_id: str, key: str) -> str:
    """WalletTopUp by card of an account's wallet."""
    return requested("top-up", account_id, key)


def prepaid_resumes(account_id: str, key: str) -> str:
    """PrepaidResume: resuming an account's prepaid subscriptions once a top-up funds them."""
    return requested("prepaid-resume", account_id, key)


def provisioning_retry(order_id: str, key: str) -> str:
    """ProvisioningRetry of a failed provisioning order."""
    return requested("provisioning-retry", order_id, key)


def provisioning_resync(organisation_id: str, key: str) -> str:
    """ProvisioningResync of an operator's services with its platforms."""
    return requested("provisioning-resync", organisation_id, key)


def prepaid_resume(subscription_id: str, key: str) -> str:
    """The SubscriptionAction resuming a prepaid subscription after the top-up with this key."""
    return subscription_request("resume", subscription_id, key)


def service_action(parent_process_id: str, action: str, subscription_id: str) -> str:
    """A SubscriptionAction a parent process starts (a dunning suspension, a prepaid renewal's one)."""
    return f"{parent_process_id}:{action}:{subscription_id}"


def device_swap(organisation_id: str, device_id: str, key: str) -> str:
    """DeviceSwap of a device, from the asking organisation's Idempotency-Key."""
    return f"device-swap-{device_id}-{request_digest(f'{organisation_id}:{key}', 20)}"


def billing_run(run_id: str) -> str:
    """The BillingCycle of a bill run started through the API."""
    return f"billing-{run_id}"


def scheduled_billing_run(operator_id: str, cycle: int) -> str:
    """The BillingCycle runs a bill cycle's Temporal Schedule starts (the schedule appends the time)."""
    return f"billing-{operator_id}-{cycle:02d}"


def loyalty_award(operator_id: str, period: str) -> str:
    """The LoyaltyAward process of an operator's period started by hand (the API)."""
    return f"loyalty-{operator_id}-{period}"


def scheduled_loyalty_award(operator_id: str) -> str:
    """The LoyaltyAward runs an operator's monthly loyalty Schedule starts (the schedule appends the time)."""
    return f"loyalty-{operator_id}-scheduled"


def loyalty_schedule(operator_id: str) -> str:
    """The Temporal Schedule (not a workflow) of an operator's monthly loyalty awards."""
    return f"loyalty-{operator_id}-monthly"


def billing_schedule(operator_id: str, cycle: int) -> str:
    """The Temporal Schedule (not a workflow) of an operator's bill cycle."""
    return f"billing-{operator_id}-cycle-{cycle:02d}"


EVENTS_RETENTION_SCHEDULE = "events-retention"
PARTITION_MAINTENANCE_SCHEDULE = "partition-maintenance"
"""The Temporal Schedule (not a workflow) that prunes business events past their retention, daily."""


def events_retention_run() -> str:
    """The EventRetention runs the retention schedule starts (the schedule appends the time)."""
    return "events-retention"


def partition_maintenance_run() -> str:
    """The PartitionMaintenance runs its daily schedule starts (the schedule appends the time)."""
    return "partition-maintenance"


def segment_schedule(operator_id: str) -> str:
    """The Temporal Schedule (not a workflow) that refreshes an operator's segments."""
    return f"segments-{operator_id}-schedule"


def scheduled_segment_refresh(operator_id: str) -> str:
    """The SegmentRefresh runs an operator's segment schedule starts (the schedule appends the time)."""
    return f"segments-{operator_id}"


def segment_refresh(segment_id: str, key: str) -> str:
    """The SegmentRefresh of one segment asked for through the API (its Idempotency-Key)."""
    return requested("segment-refresh", segment_id, key)


def collection(run_id: str) -> str:
    """The Collection that follows a bill run."""
    return f"collection-{run_id}"


def dunning(invoice_id: str) -> str:
    """The Dunning of an unpaid invoice: one per invoice, whoever starts it."""
    return f"dunning-{invoice_id}"


def on_demand_access(service_id: str) -> str:
    """OnDemandAccess of a service line: one access window per line."""
    return f"ondemand-{service_id}"


def account_verification(account_id: str, version: int | None = None) -> str:
    """AccountVerification: named after the account; a later one (a new address) also after the
    account's version at the edit that started it, since Temporal never reuses a process id."""
    base = f"account-verification-{account_id}"
    return base if version is None else f"{base}-v{version}"


WEBHOOK_RELAY = "webhook-relay"
"""The WebhookRelay: one for the whole platform, started with the worker."""

NOTIFICATION_RELAY = "notification-relay"
"""The NotificationRelay: one for the whole platform, started with the worker."""


def webhook_sender(endpoint_id: str) -> str:
    """The one WebhookSender of an endpoint: it sends the endpoint's due deliveries in batches."""
    return f"webhooks-{endpoint_id}"


def webhook_delivery(endpoint_id: str, object_id: str) -> str:
    """The WebhookDelivery of one object's events to one endpoint (one at a time, in order)."""
    return f"webhook-{endpoint_id}-{object_id}"


def partner_charges_run(organisation_id: str, provider: str, key: str) -> str:
    """NetflixChargeAcceptance staff started at once for an operator and provider."""
    return requested("partner-charges", f"{organisation_id}-{provider}", key)


def partner_charges_pushed(organisation_id: str, provider: str) -> str:
    """NetflixChargeAcceptance of charges a push provider sent (one at a time; a new one once it ends)."""
    return f"partner-charges-pushed-{organisation_id}-{provider}"


def partner_charges_schedule(organisation_id: str, provider: str) -> str:
    """The Temporal Schedule of an operator's charge acceptance at a provider."""
    return f"partner-charges-{organisation_id}-{provider}"


def scheduled_partner_charges(organisation_id: str, provider: str) -> str:
    """The runs of that schedule (Temporal appends the scheduled time)."""
    return f"partner-charges-scheduled-{organisation_id}-{provider}"


def ticket_escalation(ticket_id: str) -> str:
    """The TicketEscalation of a ticket: one per ticket, for its whole life (reopens included)."""
    return f"ticket-{ticket_id}"


@dataclass(frozen=True)
class ProcessLabels:
    """How staff find a process: its ``Process`` name, the business ids it concerns, a summary.

    Empty ids are left out of the search attributes and the memo; ``memo_extra`` adds memo entries.
    """

    process: str
    summary: str
    organisation_id: str | None = None
    account_id: str | None = None
    subscription_id: str | None = None
    invoice_id: str | None = None
    ticket_id: str | None = None
    memo_extra: dict[str, Any] = field(default_factory=dict)

    def ids(self) -> dict[str, str]:
        """The business ids set, by memo key."""
        found = {
            "organisation_id": self.organisation_id,
            "account_id": self.account_id,
            "subscription_id": self.subscription_id,
            "invoice_id": self.invoice_id,
            "ticket_id": self.ticket_id,
        }
        return {name: value for name, value in found.items() if value}

    def memo(self) -> dict[str, Any]:
        return {**self.ids(), **self.memo_extra}


def action_process(action: str) -> str:
    """The ``Process`` label of a SubscriptionAction: ``SubscriptionSuspend``, ``SubscriptionResume``…"""
    return f"Subscription{action.capitalize()}"


def partner_signup(partner_subscription_id: str) -> str:
    """PartnerSignUp: waiting for a partner membership's sign-up (one per membership)."""
    return f"partner-signup-{partner_subscription_id}"


def partner_settlement(organisation_id: str, provider: str, month: str) -> str:
    """PartnerSettlement of an operator's month with a provider (``month`` is ``YYYY-MM``)."""
    return f"partner-settlement-{organisation_id}-{provider}-{month}"


def partner_settlement_schedule(organisation_id: str, provider: str) -> str:
    """The monthly Temporal Schedule of an operator's PartnerSettlement with a provider."""
    return f"partner-settlement-{organisation_id}-{provider}"


def scheduled_partner_settlement(organisation_id: str, provider: str) -> str:
    """The runs of that schedule (Temporal appends the scheduled time)."""
    return f"partner-settlement-scheduled-{organisation_id}-{provider}"

"""The business events of a subscription's lifecycle: which event each change records, and its snapshot."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.events.snapshots import account_organisation, subscription_data
from domain.events import BusinessEvent
from models.subscriptions import Subscription

EVENT_OF_ACTION = {
    "change_plan": "subscription.changed",
    "add_addon": "subscription.changed",
    "remove_addon": "subscription.changed",
    "suspend": "subscription.suspended",
    "resume": "subscription.resumed",
    "terminate": "subscription.terminated",
    "regret": "subscription.terminated",
}
"""The event each action of ``change_steps.HANDLERS`` records when it is applied."""


def subscription_event(event_type: str, session: Session, sub: Subscription) -> BusinessEvent:
    """``event_type`` about ``sub``, with its snapshot after the change (in the account's organisation)."""
    return BusinessEvent(
        event_type,
        account_organisation(session, sub.account_id),
        "subscription",
        sub.id,
        subscription_data(sub),
    )

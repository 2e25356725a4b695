"""The partner activities as workflows call them, and their inputs and outputs (no SQLAlchemy here).

Memberships (``PartnerActivities``): start one for a subscription's partner-service line (create the
provider's subscriber, keep the sign-up link), check it (poll the provider), fail it (the link expired),
change its plan, end it. Settlement (``PartnerSettlementActivities``): a month's statement.
Implemented in activities/partners/activities.py.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field
from temporalio import activity


class StartMemberships(BaseModel):
    """Onboarding (or a change adding a partner product): memberships for the subscription's partner
    services (all of them, or the given lines)."""

    subscription_id: str
    process_id: str
    service_ids: list[str] = Field(default_factory=list)


class MembershipState(BaseModel):
    """A membership and where it stands; ``valid_for_seconds``: how long its sign-up link is valid."""

    partner_subscription_id: str
    organisation_id: str
    account_id: str
    subscription_id: str
    provider: str
    status: str
    signup_url: str | None = None
    valid_for_seconds: int = 0
    reason: str | None = None


class MembershipRef(BaseModel):
    partner_subscription_id: str


class FailMembership(BaseModel):
    partner_subscription_id: str
    reason: str


class EndMemberships(BaseModel):
    """End the subscription's live memberships (of one line, or all): cancel at the provider first."""

    subscription_id: str
    process_id: str
    reason: str
    service_id: str | None = None


class SyncMembershipPlans(BaseModel):
    """After a plan change: a line whose partner plan changed moves at the provider, a line that no longer
    holds a partner product ends its membership."""

    subscription_id: str
    process_id: str


class SettleMonth(BaseModel):
    organisation_id: str
    provider: str
    month: date


class SettlementRef(BaseModel):
    settlement_id: str
    created: bool


class SettlementRunInput(BaseModel):
    """PartnerSettlement: settle an operator's ``month`` (``YYYY-MM``) with a provider; without one, the
    month before the run's instant (``at``, else the workflow's clock) in the connection's time zone."""

    organisation_id: str
    provider: str
    month: str | None = None
    at: datetime | None = None


class SettleDue(BaseModel):
    """Settle ``month`` (``YYYY-MM``), or (none given) the month before ``at`` in the connection's time
    zone."""

    organisation_id: str
    provider: str
    at: datetime
    month: str | None = None


class StatementMade(BaseModel):
    """The month's statement: made by this call (``created``) or found made before."""

    settlement_id: str
    organisation_id: str
    provider: str
    month: str
    created: bool
    currency: str
    charge_count: int
    charged_minor: int
    partner_payable_minor: int


class PartnerActivities:
    @activity.defn(name="start_partner_memberships")
    def start_memberships(self, request: StartMemberships) -> list[MembershipState]:
        """Create each partner-service line's membership and the provider's subscriber (idempotent)."""
        raise NotImplementedError

    @activity.defn(name="check_partner_membership")
    def check_membership(self, ref: MembershipRef) -> MembershipState:
        """Ask the provider; an ACTIVE member becomes ``active`` here, an ENDED one ``ended``."""
        raise NotImplementedError

    @activity.defn(name="fail_partner_membership")
    def fail_membership(self, request: FailMembership) -> MembershipState:
        """A pending membership whose sign-up never completed: ``failed`` with the reason."""
        raise NotImplementedError

    @activity.defn(name="end_partner_memberships")
    def end_memberships(self, request: EndMemberships) -> list[MembershipState]:
        """Cancel at the provider and end the subscription's live memberships (event ``partner.ended``)."""
        raise NotImplementedError

    @activity.defn(name="sync_partner_membership_plans")
    def sync_plans(self, request: SyncMembershipPlans) -> list[MembershipState]:
        """Follow a plan change at the provider: change the partner plan, or end the membership."""
        raise NotImplementedError


class PartnerSettlementActivities:
    @activity.defn(name="settle_partner_month")
    def settle_month(self, request: SettleMonth) -> SettlementRef:
        """The (organisation, provider, month) statement, made once."""
        raise NotImplementedError

    @activity.defn(name="settle_partner_month_due")
    def settle_due(self, request: SettleDue) -> StatementMade:
        """The statement of the month asked for or, none given, of the month before ``at`` in the
        connection's time zone; made once (a refusal, e.g. no connection, fails non-retryably)."""
        raise NotImplementedError

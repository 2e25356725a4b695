"""Dunning's activities as workflows call them, and their inputs and outputs (no SQLAlchemy here)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.subscriptions.io import ChangePlan
from domain.dunning import Ladder


class DunningInput(BaseModel):
    """An unpaid invoice to chase, with the ladder to chase it by (default: the operator's)."""

    invoice_id: str
    account_id: str
    organisation_id: str
    ladder: Ladder | None = None


class InvoiceState(BaseModel):
    """An invoice in dunning: its status and what is still open."""

    invoice_id: str
    status: str
    open_minor: int
    currency: str
    on_hold: bool = False  # a billing dispute holds it (activities/care/disputes.py): dunning waits


class NoticeInput(BaseModel):
    """The notice of one dunning step (reminder, warning, final) for an invoice."""

    invoice_id: str
    kind: str
    process_id: str


class ServiceActionInput(BaseModel):
    """Suspend, resume or terminate the services of an account in dunning."""

    account_id: str
    action: str  # suspend | resume | terminate
    process_id: str
    reason: str
    invoice_id: str | None = (
        None  # the invoice in dunning: a suspension or termination is a dunning.step of it
    )


class DunningActivities:
    """Dunning's activities as workflows call them (implemented in activities/dunning/activities.py)."""

    @activity.defn(name="dunning_ladder")
    def ladder(self, organisation_id: str) -> Ladder:
        """The ladder of the operator at the root of the organisation's tree (default when none is set)."""
        raise NotImplementedError

    @activity.defn(name="invoice_state")
    def invoice_state(self, invoice_id: str) -> InvoiceState:
        """Mark an unpaid invoice overdue and say what is still open."""
        raise NotImplementedError

    @activity.defn(name="send_dunning_notice")
    def send_notice(self, notice: NoticeInput) -> str:
        """Email the account holder the notice of this step; the message id."""
        raise NotImplementedError

    @activity.defn(name="plan_service_actions")
    def plan_service_actions(self, request: ServiceActionInput) -> list[ChangePlan]:
        """Take each live subscription of the account for one action process (skipping those that can't)."""
        raise NotImplementedError

    @activity.defn(name="write_off_invoice")
    def write_off(self, invoice_id: str) -> int:
        """Write the open amount off as bad debt (a ledger entry) and close the invoice."""
        raise NotImplementedError

"""What every workflow shares: the retry policies, the status type, the search attributes, child starts.

Retry policies are named after what they retry; their values are behaviour (how long a step keeps
trying), so two that differ stay two. A parent starts a child with :func:`start_child`: by reference
with a typed input, under an id from ``domain/process_ids.py``, abandoned when the parent closes, and
labelled (search attributes, summary, memo) as a route labels the processes it starts, so staff find
every process by organisation, account, subscription or invoice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from domain.process_ids import ProcessLabels

SelfType = TypeVar("SelfType")
ParamType = TypeVar("ParamType")
ReturnType = TypeVar("ReturnType")

# Search attributes staff filter processes by (registered by runtime/temporal.py).
ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
ORGANISATION_ID = SearchAttributeKey.for_keyword("OrganisationId")
SUBSCRIPTION_ID = SearchAttributeKey.for_keyword("SubscriptionId")
INVOICE_ID = SearchAttributeKey.for_keyword("InvoiceId")
PROCESS = SearchAttributeKey.for_keyword("Process")
# The organisation's tree path (``/org_a/org_b/``): a subtree's processes are those whose path starts
# with the subtree's own (api/processes.py), however many organisations it holds.
ORGANISATION_PATH = SearchAttributeKey.for_keyword("OrganisationPath")
TICKET_ID = SearchAttributeKey.for_keyword("TicketId")
SEARCH_ATTRIBUTES = (
    ACCOUNT_ID,
    ORGANISATION_ID,
    SUBSCRIPTION_ID,
    INVOICE_ID,
    PROCESS,
    ORGANISATION_PATH,
    TICKET_ID,
)

# Database steps: 1 s doubling, to 30 s (subscription steps) or to 1 min (devices, verification).
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=1)
)
# Steps that must eventually happen (dunning steps, undoing an onboarding's provisioning): 2 s to 5 min.
PERSISTENT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=5))
# A subscription held by another process: wait for it, 5 s growing by half to 10 min.
BUSY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=1.5, maximum_interval=timedelta(minutes=10)
)
# Bulk work: a bill run's page (10 attempts), a collection batch (20 attempts); 2 s to 2 min.
PAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2), maximum_attempts=10
)
BATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2), maximum_attempts=20
)
# Provisioning orders: an activation or change (5 attempts, to 1 min), an on-demand window's orders
# (20 attempts, to 5 min), a device swap's orders (5 s first, 10 attempts, to 5 min).
PROVISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=5
)
ON_DEMAND_PROVISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=20,
)
SWAP_PROVISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=10,
)
# Charging an invoice: a dunning retry (to 10 min) and an onboarding's first invoice (default maximum).
COLLECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=10), maximum_attempts=5
)
FIRST_COLLECT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_attempts=5)
# Messages: the verification email (within its window), a notice (3 attempts), a welcome (5 attempts).
EMAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=10)
)
# A caller is waiting (collect now, a refund, a card top-up): a gateway that is down is reported (503)
# rather than retried for long; charges and refunds are idempotent per key, so the caller's retry resumes.
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5), maximum_attempts=3
)
# A push payment waiting for the subscriber's PIN (mobile money): each retry is a status query, for about
# 2.5 minutes (a phone's prompt times out after about 90 s).
PHONE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=15),
    maximum_attempts=15,
)
READ_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=5)
# An operator's re-run answers with the outcome of one attempt.
ONCE = RetryPolicy(maximum_attempts=1)
NOTICE_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=5))
WELCOME_RETRY = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=5))


class NextStep(BaseModel):
    """Something a process will do at a known time (the ``next`` of its ``status`` query)."""

    at: datetime
    what: str


class ProcessStatus(BaseModel):
    """The ``status`` query answer of a subscription's process (Onboarding, PlanChange, …)."""

    process: str
    step: str
    subscription_id: str
    error: str | None = None
    next: list[NextStep] = Field(default_factory=list)


def show_details(about: str, step: str) -> None:
    """Show the process's current step in the Temporal UI (its current details): ``about: step``.

    ``about`` names the process by ids and plan or product names only, never a person's name, email,
    address or bank details. Details are workflow state, not a command: setting them never changes a
    history, so stored histories replay.
    """
    workflow.set_current_details(f"{about}: {step}" if about else step)


class ShowsStep:
    """A workflow whose ``self._step`` is also its current details in the Temporal UI.

    Assigning ``self._step`` shows ``"<about>: <step>"``; ``self._describe(about)`` sets what the process
    is about (by default its type and id) once its input is known.
    """

    _about: str = ""
    _shown_step: str = ""

    @property
    def _step(self) -> str:
        return self._shown_step

    @_step.setter
    def _step(self, value: str) -> None:
        self._shown_step = value
        show_details(self._about or _default_about(), value)

    def _describe(self, about: str) -> None:
        self._about = about
        show_details(about, self._shown_step)


def _default_about() -> str:
    info = workflow.info()
    return f"{info.workflow_type} {info.workflow_id}"


def search_attributes(labels: ProcessLabels, organisation_path: str | None = None) -> TypedSearchAttributes:
    """The typed search attributes of a process: its name, the business ids it concerns and, when known,
    the path of its organisation (``organisation_path``)."""
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(key, value)
        for key, value in (
            (ORGANISATION_ID, labels.organisation_id),
            (ORGANISATION_PATH, organisation_path if labels.organisation_id else None),
            (ACCOUNT_ID, labels.account_id),
            (SUBSCRIPTION_ID, labels.subscription_id),
            (INVOICE_ID, labels.invoice_id),
            (TICKET_ID, labels.ticket_id),
        )
        if value
    ]
    pairs.append(SearchAttributePair(PROCESS, labels.process))
    return TypedSearchAttributes(pairs)


async def start_child(
    run: Callable[[SelfType, ParamType], Awaitable[ReturnType]],
    arg: ParamType,
    *,
    id: str,
    labels: ProcessLabels,
) -> ChildWorkflowHandle[SelfType, ReturnType]:
    """Start a child process that outlives its parent (abandoned on close), labelled for staff.

    The child carries the parent's ``OrganisationPath`` when it belongs to the parent's organisation
    (another organisation's path is not known here: the child is then found by its ``OrganisationId``).
    Raises ``WorkflowAlreadyStartedError`` when a process with this id exists (the caller decides).
    """
    handle: ChildWorkflowHandle[SelfType, ReturnType] = await workflow.start_child_workflow(
        run,
        arg,
        id=id,
        parent_close_policy=ParentClosePolicy.ABANDON,
        memo=labels.memo(),
        search_attributes=search_attributes(labels, _parent_path(labels.organisation_id)),
        static_summary=labels.summary,
    )
    return handle


def _parent_path(organisation_id: str | None) -> str | None:
    """The running workflow's ``OrganisationPath`` if ``organisation_id`` is its organisation."""
    parent = workflow.info().typed_search_attributes
    if not organisation_id or parent.get(ORGANISATION_ID) != organisation_id:
        return None
    return parent.get(ORGANISATION_PATH)

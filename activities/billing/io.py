"""The bill run's activities as workflows call them, and their inputs and outputs (no SQLAlchemy here).

Implemented in activities/billing/activities.py; the billing itself is in bill_run.py and drafts.py.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from temporalio import activity


class RunInput(BaseModel):
    """A bill run: the due subscriptions of one cycle (bill day) in an organisation's subtree."""

    run_id: str | None = None
    organisation_id: str
    bill_day: int
    period_date: date | None = Field(default=None, description="None: each account's local today")
    dry_run: bool = False
    page_size: int = 500
    parallelism: int = 4
    heartbeat_seconds: int = Field(
        default=20,
        ge=1,
        description="heartbeat timeout of a page: one silent this long (its worker died) is retried"
        " elsewhere; a page heartbeats four times as often",
    )


class Page(BaseModel):
    """The due accounts of a run with ids in ``(after, until]``."""

    run: RunInput
    after: str | None
    until: str


def pages_of(run: RunInput, ends: list[str]) -> list[Page]:
    """The run's pages from each page's last account id, in order (pure: the BillingCycle workflow
    calls it, so the planning activity returns ~30 bytes a page instead of the run's input in each)."""
    pages, after = [], None
    for until in ends:
        pages.append(Page(run=run, after=after, until=until))
        after = until
    return pages


class BillNow(BaseModel):
    """Invoice one subscription's account at once, up to a date (the first invoice at activation)."""

    subscription_id: str
    up_to: date


class PageResult(BaseModel):
    """What a page (or a whole run, merged) billed: counts, failures and amounts per currency."""

    accounts: int = 0
    invoices: int = 0
    credit_notes: int = 0
    lines: int = 0
    failed: list[dict[str, str]] = Field(default_factory=list)
    amounts: dict[str, int] = Field(default_factory=dict)


class RunSummary(BaseModel):
    """A finished run, as its row records it."""

    run: RunInput
    pages: int
    result: PageResult
    status: str
    prepaid: dict[str, Any] = Field(default_factory=dict, description="wallet renewals of prepaid terms")


class OpenedRun(BaseModel):
    """The run with its row's id, or the id of the running run it joined instead."""

    run: RunInput
    joined_run_id: str | None = None


def merge(results: list[PageResult]) -> PageResult:
    """The pages' results added up (pure: the BillingCycle workflow calls it)."""
    total = PageResult()
    amounts: dict[str, int] = defaultdict(int)
    for r in results:
        total.accounts += r.accounts
        total.invoices += r.invoices
        total.credit_notes += r.credit_notes
        total.lines += r.lines
        total.failed += r.failed
        for currency, amount in r.amounts.items():
            amounts[currency] += amount
    total.amounts = dict(amounts)
    return total


class BillingActivities:
    """The bill run's activities as workflows call them (implemented in activities/billing/activities.py)."""

    @activity.defn(name="open_billing_run")
    def open_run(self, run: RunInput) -> RunInput:
        """The run's row (created by the API, or here for a scheduled run); its id is returned."""
        raise NotImplementedError

    @activity.defn(name="plan_billing_pages")
    def plan_pages(self, run: RunInput) -> list[Page]:
        """Split the due accounts into pages by id (each page names its last account)."""
        raise NotImplementedError

    @activity.defn(name="plan_billing_page_ends")
    def plan_page_ends(self, run: RunInput) -> list[str]:
        """The last due account id of each page, in order (``pages_of`` makes the pages)."""
        raise NotImplementedError

    @activity.defn(name="bill_page")
    def bill_page(self, page: Page) -> PageResult:
        """Bill every due account of the page in one transaction (a retry bills nothing twice) and report
        what the page billed, also when an earlier attempt committed it and died before completing."""
        raise NotImplementedError

    @activity.defn(name="bill_account_now")
    def bill_now(self, request: BillNow) -> list[str]:
        """Invoice what one subscription's account owes up to a date at once (first invoice at activation)."""
        raise NotImplementedError

    @activity.defn(name="finish_billing_run")
    def finish_run(self, summary: RunSummary) -> None:
        """Record the run's counts, amounts, failures and final status on its row."""
        raise NotImplementedError


class RunRowActivities:
    """The BillingCycle process's first step, opening its row (implemented in activities.py)."""

    @activity.defn(name="open_or_join_billing_run")
    def open_or_join(self, run: RunInput) -> OpenedRun:
        """This process's row (created once), or the running run of the same cycle it joins."""
        raise NotImplementedError

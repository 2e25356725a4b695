"""The bill run's Temporal activities: each opens one transaction and calls bill_run.py."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio import activity

from activities.billing import bill_run, io, run_rows
from activities.billing.io import BillNow, OpenedRun, Page, PageResult, RunInput, RunSummary
from activities.billing.results import hold_after_commit
from activities.shared.heartbeat import heartbeating
from models.base import unit_of_work
from runtime.settings import Settings


@contextmanager
def paused_gc() -> Iterator[None]:
    """A page allocates many short-lived objects; full collections mid-page cost more than they free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class BillingActivities(io.BillingActivities):
    """The bill run's activities, bound to the database (sync: the worker runs them on its thread pool)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: billing activities need the database")
        self.url = settings.database_url
        production = settings.environment == "production"
        self.hold_flag = None if production else settings.billing_hold_page_file

    @activity.defn(name="open_billing_run")
    def open_run(self, run: RunInput) -> RunInput:
        """The run's row (created by the API, or here for a scheduled run); its id is returned."""
        process_id = activity.info().workflow_id
        with unit_of_work(self.url) as session:
            return bill_run.open_run(session, run, process_id)

    @activity.defn(name="plan_billing_pages")
    def plan_pages(self, run: RunInput) -> list[Page]:
        """Split the due accounts into pages by id (each page names its last account)."""
        with heartbeating(), unit_of_work(self.url) as session:
            return bill_run.plan_pages(session, run)

    @activity.defn(name="plan_billing_page_ends")
    def plan_page_ends(self, run: RunInput) -> list[str]:
        """The last due account id of each page, in order (``pages_of`` makes the pages)."""
        with heartbeating(), unit_of_work(self.url) as session:
            return bill_run.page_ends(session, run)

    @activity.defn(name="bill_page")
    def bill_page(self, page: Page) -> PageResult:
        """Bill every due account of the page in one transaction (a retry bills nothing twice) and report
        what the page billed, also when an earlier attempt committed it and died before completing."""
        with paused_gc(), heartbeating():
            with unit_of_work(self.url) as session:
                result = bill_run.bill_page(session, page)
            hold_after_commit(self.hold_flag)
            return result

    @activity.defn(name="bill_account_now")
    def bill_now(self, request: BillNow) -> list[str]:
        """Invoice what one subscription's account owes up to a date at once (first invoice at activation)."""
        with paused_gc(), unit_of_work(self.url) as session:
            return bill_run.bill_now(session, request)

    @activity.defn(name="finish_billing_run")
    def finish_run(self, summary: RunSummary) -> None:
        """Record the run's counts, amounts, failures and final status on its row."""
        with unit_of_work(self.url) as session:
            bill_run.finish_run(session, summary)

    def all(self) -> list[Any]:
        return [
            self.open_run,
            self.plan_pages,
            self.plan_page_ends,
            self.bill_page,
            self.finish_run,
            self.bill_now,
        ]


class RunRowActivities(io.RunRowActivities):
    """The BillingCycle process's first step since the API stopped writing the row."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or ""

    @activity.defn(name="open_or_join_billing_run")
    def open_or_join(self, run: RunInput) -> OpenedRun:
        """This process's row (created once), or the running run of the same cycle it joins."""
        return run_rows.open_or_join(self.url, run, activity.info().workflow_id)

    def all(self) -> list[Any]:
        return [self.open_or_join]

"""A change committing while a bill-run page bills the same subscription: the two transaction scripts run
on two real connections, one held open at its critical point (after it read and wrote, before it
commits) while the other starts. They are serialised per subscription, so a period is billed or credited
exactly once whichever comes first.

A monthly plan of 31.00 on day 1 costs 1.00 a day in January and March; a termination on February 1
(the end of January's term) owes January only."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from activities.billing.bill_run import bill_accounts
from activities.billing.io import RunInput
from activities.subscriptions import records as store
from activities.subscriptions.change_steps import apply
from activities.subscriptions.changes import ActionRequest, prepare_action
from models.base import engine_for, unit_of_work
from models.organisations import Organisation
from tests.support.billing_runs import bill, billed, on_the_cheap_plan, owed
from tests.support.eventually import eventually
from tests.support.factories import Tenant
from tests.support.subscription_support import Stack

WAIT_SECONDS = 20


class Held(threading.Thread):
    """A transaction script run in its own thread and connection, held open before its commit until
    the test releases it."""

    def __init__(self, url: str, body: Callable[[Any], None], hold: bool) -> None:
        super().__init__(daemon=True)
        self.url, self.body = url, body
        self.written, self.release = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        if not hold:
            self.release.set()

    def run(self) -> None:
        try:
            with unit_of_work(self.url) as session:
                self.body(session)
                session.flush()
                self.written.set()
                assert self.release.wait(WAIT_SECONDS), "never released"
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.written.set()


def waiting_on_a_lock(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "select count(*) from pg_stat_activity "
                    "where wait_event_type = 'Lock' and datname = current_database()"
                )
            ).scalar_one()
        )


def race(url: str, first: Callable[[Any], None], second: Callable[[Any], None]) -> None:
    """``first`` reads and writes, and holds its transaction open; ``second`` starts then. Once
    ``second`` is done or waits on a lock, ``first`` commits; both must end without error."""
    held = Held(url, first, hold=True)
    held.start()
    assert held.written.wait(WAIT_SECONDS)
    other = Held(url, second, hold=False)
    other.start()
    with contextlib.suppress(AssertionError):  # at most WAIT_SECONDS: then ``first`` commits anyway
        eventually(lambda: not other.is_alive() or waiting_on_a_lock(url), timeout=WAIT_SECONDS)
    held.release.set()
    held.join(WAIT_SECONDS)
    other.join(WAIT_SECONDS)
    assert not held.is_alive() and not other.is_alive()
    assert held.error is None, repr(held.error)
    assert other.error is None, repr(other.error)


def terminate_on(sub: dict[str, Any], day: date) -> Callable[[Any], None]:
    def body(session: Any) -> None:
        row = store.load(session, sub["subscription_id"], lock=True)
        request = ActionRequest(reason="moving", effective_date=day)
        plan = prepare_action(session, row, "terminate", request, f"race:{row.id}", "test")
        apply(session, row, plan)

    return body


def bill_page(tenant: Tenant, sub: dict[str, Any], day: date) -> Callable[[Any], None]:
    def body(session: Any) -> None:
        org = session.get(Organisation, tenant.organisation_id)
        run = RunInput(organisation_id=org.id, bill_day=1, period_date=day)
        bill_accounts(session, run, org, [sub["account_id"]])

    return body


@pytest.mark.parametrize("change_first", [True, False])
async def test_a_termination_racing_the_run_of_its_period_bills_or_credits_it_once(
    stack: Stack, database_url: str, change_first: bool
) -> None:
    tenant, _, sub = await on_the_cheap_plan(stack, database_url)
    await bill(stack, tenant, 1, "2024-01-01")
    change, run = terminate_on(sub, date(2024, 2, 1)), bill_page(tenant, sub, date(2024, 2, 1))
    if change_first:
        race(database_url, change, run)
    else:
        race(database_url, run, change)
    await bill(stack, tenant, 1, "2024-03-01")
    lines, notes = billed(database_url, sub)
    february = [amount for start, _, amount in lines if start == "2024-02-01"]
    assert (february, notes) in (([], []), ([3100], [-3100]))  # not billed, or billed and credited once
    assert owed(database_url, sub) == 3100

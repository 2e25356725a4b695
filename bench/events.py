"""What the business-event outbox costs a bill run: the same real BillingCycle over N generated
subscriptions, once with ``invoice.issued`` events off and once on, and the events written per second.

Run: ``python -m bench.events [N] [ROUNDS]`` (default 10000 and 2). One embedded PostgreSQL holds
4 x ROUNDS identical databases (the generator of bench/billing.py, fixed seed); each is billed through
Temporal with an in-process worker, with ``activities.billing.writer.EMIT_EVENTS`` off, on, on, off per
round (ABBA, so warm-up and drift weigh on both alike). ``overhead`` compares the fastest run of each
(the least disturbed on a shared machine). Then as many events are written by ``record_many`` alone.
The issue's bar: the outbox must not slow a bill run by more than 10% (``overhead`` <= 0.10).
The last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console

from activities.billing import writer
from activities.events.outbox import record_many
from bench.billing import SEED, bill
from bench.billing import prepare as prepare_billing
from domain.events import BusinessEvent
from models.base import unit_of_work
from runtime.servers import embedded_server
from runtime.settings import normalise_database_url

ORG = "org_BENCH0000000000000000000000"[:30]


def prepare(admin_url: str, name: str, count: int, console: Console) -> str:
    """A new database ``name`` on the server, migrated, with the operator, catalogue and ``count``
    subscriptions; its URL."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {name}"))
    admin.dispose()
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    prepare_billing(url, ORG, count, console)
    return url


def events_written(url: str) -> int:
    """How many ``invoice.issued`` events the database holds."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        sql = "select count(*) from business_events where type = 'invoice.issued'"
        count = int(conn.execute(sa.text(sql)).scalar_one())
    engine.dispose()
    return count


def outbox_seconds(url: str, count: int) -> float:
    """Seconds to record ``count`` invoice-sized ``invoice.issued`` events with ``record_many``, in pages
    of 1,000 as a bill run does (each page its own transaction): the outbox alone."""
    rng = random.Random(SEED)
    events = [
        BusinessEvent(
            "invoice.issued",
            ORG,
            "invoice",
            f"inv_{i:026d}",
            {
                "id": f"inv_{i:026d}",
                "organisation_id": ORG,
                "account_id": f"acc_B{i:025d}",
                "number": f"INV-{i:06d}",
                "status": "issued",
                "currency": "EUR",
                "net_minor": (net := rng.randint(1000, 9000)),
                "tax_minor": net * 21 // 100,
                "total_minor": net + net * 21 // 100,
                "paid_minor": 0,
                "billing_run_id": "run_bench",
                "issue_date": "2026-11-05",
                "due_date": "2026-11-19",
            },
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    for page in range(0, count, 1000):
        with unit_of_work(url) as session:
            record_many(session, events[page : page + 1000])
    return time.perf_counter() - started


def timed_run(url: str, emit: bool, console: Console) -> tuple[float, Any]:
    """Bill the database at ``url`` with the outbox ``emit`` on or off; seconds and the run's summary."""
    writer.EMIT_EVENTS = emit
    try:
        with console.status(f"billing with the outbox {'on' if emit else 'off'}"):
            return asyncio.run(bill(url, ORG, page_size=1000, parallelism=2))
    finally:
        writer.EMIT_EVENTS = True


ABBA = (False, True, True, False)
"""One round of runs with the outbox off and on, in ABBA order so warm-up and drift weigh on both alike."""


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 10_000
    rounds = int(argv[2]) if len(argv) > 2 else 2
    order = ABBA * rounds
    console = Console(stderr=True)
    home = Path(tempfile.mkdtemp(prefix="multibill-bench-events-"))
    server = embedded_server(home / "pg", cleanup_mode="delete")
    try:
        admin_url = normalise_database_url(server.get_uri())
        urls = [prepare(admin_url, f"bench_outbox_{i}", count, console) for i in range(len(order))]
        runs: dict[bool, list[float]] = {False: [], True: []}
        invoices: dict[bool, int] = {False: 0, True: 0}
        for url, emit in zip(urls, order, strict=True):
            took, summary = timed_run(url, emit, console)
            runs[emit].append(took)
            invoices[emit] += summary.result.invoices
            written = events_written(url)
            assert written == (summary.result.invoices if emit else 0), "one event per invoice, none when off"
        issued = invoices[True]
        with console.status("the outbox alone"):
            alone = outbox_seconds(urls[0], issued)
        off_seconds, on_seconds = sum(runs[False]), sum(runs[True])
        overhead = min(runs[True]) / min(runs[False]) - 1  # the least disturbed run of each
        off_list, on_list = (", ".join(f"{t:.2f}" for t in runs[emit]) for emit in (False, True))
        console.print(
            f"{count} invoices a run, {len(runs[True])} runs each: outbox off {off_list} s, on {on_list} s "
            f"(overhead of the best runs {overhead:+.1%}); the outbox alone: {issued} events in {alone:.2f} s"
        )
        print(
            json.dumps(
                {
                    "bench": "events",
                    "subscriptions": count,
                    "runs_each": len(runs[True]),
                    "invoices_outbox_on": invoices[True],
                    "invoices_outbox_off": invoices[False],
                    "events": issued,
                    "seconds_outbox_off": [round(t, 2) for t in runs[False]],
                    "seconds_outbox_on": [round(t, 2) for t in runs[True]],
                    "overhead": round(overhead, 3),
                    "overhead_of_totals": round(on_seconds / off_seconds - 1, 3) if off_seconds else None,
                    "within_10_percent": overhead <= 0.10,
                    "events_per_s_in_bill_run": round(issued / on_seconds) if on_seconds else None,
                    "outbox_seconds": round(alone, 2),
                    "outbox_events_per_s": round(issued / alone) if alone else None,
                }
            )
        )
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

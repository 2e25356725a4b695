"""Row sizes for docs/capacity.md, measured on a bench-sized dataset (not guessed).

Run: ``python -m bench.capacity [N] [EVENTS]`` (defaults 20,000 subscriptions and 200,000 usage events).
It builds the dataset of ``bench.billing`` (mixed plans, add-ons, rentals, tax) in an embedded
PostgreSQL, bills it through a real BillingCycle, stores ``EVENTS`` usage events through the ingestion's
own statement (``store_events``: keys and events, in batches of 1,000), writes one ``rated_usage`` row per
event shaped as the rating writes it, and reports per table: rows, average row width
(``avg(pg_column_size(t.*))``), heap+TOAST bytes per row and total bytes per row with indexes
(``pg_total_relation_size`` / rows, summed over the partitions of a partitioned table). The last stdout
line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console

from bench.billing import BENCH_ORG, bill, prepare
from runtime.settings import normalise_database_url

SEED = 20261130
TABLES = (
    "usage_events",
    "usage_event_keys",
    "rated_usage",
    "invoices",
    "invoice_lines",
    "ledger_entries",
    "ledger_postings",
    "billed_periods",
    "business_events",
)


def store_usage(url: str, org: str, count: int) -> None:
    from activities.usage.ingestion import IngestReport, store_events
    from domain.usage_events import check_event
    from models.base import unit_of_work

    rnd = random.Random(SEED)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        subs = list(conn.execute(sa.text("select id from subscriptions order by id")).scalars())
    engine.dispose()
    for start in range(0, count, 1000):
        raw = []
        for n in range(start, min(count, start + 1000)):
            kind = rnd.choice(("voice", "voice", "data"))
            raw.append(
                {
                    "client_event_id": f"cdr-{n:09d}",
                    "subscriber": rnd.choice(subs),
                    "event_type": kind,
                    "started_at": (now - timedelta(seconds=rnd.randrange(27 * 86400))).isoformat(),
                    "quantity": rnd.randrange(1, 3600) if kind == "voice" else rnd.randrange(1, 10**9),
                    "destination": f"+3491{rnd.randrange(10**7):07d}" if kind == "voice" else None,
                    **({"duration": rnd.randrange(60, 7200)} if kind == "data" else {}),
                }
            )
        events = [check_event(r, now) for r in raw]
        with unit_of_work(url) as session:
            store_events(session, org, events, "api", IngestReport())


def rate_rows(conn: Any) -> None:
    """One rated_usage row per event, with the values the rating writes (period, pool, tariff, amount)."""
    conn.execute(
        sa.text(
            "insert into rated_usage (event_id, organisation_id, subscription_id, service_id, metric, "
            "destination, destination_name, period_start, period_end, quantity, covered, charged, pool, "
            "amount, precision, currency, tariff, kind, rating_run, status, created_at) "
            "select e.id, e.organisation_id, e.subscription_id, coalesce(e.service_id, 'svc_' || "
            "substr(md5(e.subscription_id), 1, 26)), e.metric, left(e.destination, 5), "
            "case when e.destination is null then null else 'Spain mobile' end, date '2026-11-01', "
            "date '2026-11-30', e.quantity, e.quantity / 2, e.quantity - e.quantity / 2, "
            "'svc_' || substr(md5(e.subscription_id), 1, 26) || ':' || e.metric, "
            "(e.quantity - e.quantity / 2) * 0.0012345678, 4, 'EUR', 'DECK-ES@3/mobile-peak', 'rated', "
            "'rate-' || substr(md5(e.id::text), 1, 20), 'open', now() from usage_events e"
        )
    )


def measure(conn: Any) -> dict[str, dict[str, float]]:
    out = {}
    for table in TABLES:
        rows = int(conn.execute(sa.text(f"select count(*) from {table}")).scalar_one())  # noqa: S608
        width = conn.execute(sa.text(f"select avg(pg_column_size(t.*)) from {table} t")).scalar_one()  # noqa: S608
        heap, total = conn.execute(
            sa.text(
                "select sum(pg_table_size(c.oid)), sum(pg_total_relation_size(c.oid)) from pg_class c "
                "where c.oid = to_regclass(:t) or c.oid in (select inhrelid from pg_inherits "
                "where inhparent = to_regclass(:t))"
            ),
            {"t": table},
        ).one()
        out[table] = {
            "rows": rows,
            "avg_row_bytes": round(float(width or 0), 1),
            "heap_bytes_per_row": round(int(heap) / rows, 1) if rows else 0,
            "total_bytes_per_row": round(int(total) / rows, 1) if rows else 0,
        }
    return out


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 20_000
    events = int(argv[2]) if len(argv) > 2 else 200_000
    console = Console(stderr=True)
    from runtime.servers import embedded_server

    home = Path(tempfile.mkdtemp(prefix="multibill-bench-capacity-"))
    server = embedded_server(home / "pg", cleanup_mode="delete")
    try:
        url = normalise_database_url(server.get_uri())
        org = BENCH_ORG
        services = prepare(url, org, count, console)
        engine = sa.create_engine(url)
        with console.status("billing through Temporal"):
            seconds, summary = asyncio.run(bill(url, org, page_size=1000, parallelism=2))
        with console.status(f"storing {events} usage events"):
            store_usage(url, org, events)
        with engine.begin() as conn:
            rate_rows(conn)
        with engine.connect() as conn:
            conn.execute(sa.text("analyze"))
            sizes = measure(conn)
        engine.dispose()
        print(
            json.dumps(
                {
                    "bench": "capacity",
                    "subscriptions": count,
                    "services": services,
                    "invoices": summary.result.invoices,
                    "bill_seconds": round(seconds, 2),
                    "tables": sizes,
                }
            )
        )
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

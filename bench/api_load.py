"""Read load on the API of a real `multibill up` stack: three read routes at a fixed request rate.

Run: ``python -m bench.api_load [ACCOUNTS] [RATE] [SECONDS]`` (default 100000 accounts, 200 requests/s,
30 s). It starts an embedded PostgreSQL and `multibill up` on it (Temporal dev server, worker and API as
separate processes), fills ACCOUNTS accounts with a subscription each (COPY, as bench.billing does), bills
them through a real bill run (POST /v1/billing-runs, the stack's worker), then sends an open-loop mix of
``GET /v1/accounts?limit=20&cursor=…`` (a random page), ``GET /v1/invoices/{id}`` and
``GET /v1/subscriptions/{id}`` (random ids, fixed seed) at RATE requests/s: each request starts at its
scheduled time whatever the others do, and its latency counts from that time (no coordinated omission).

The physical limit, measured in the same run at the same rate: the same reads as raw SQL from psycopg2
(the key lookup and each route's statements, one connection), and ``GET /healthz`` (a database and a
Temporal round trip, no authentication) over HTTP.

Reuse a filled stack: ``--keep`` leaves it running and prints its API URL, key and DATABASE_URL;
``BENCH_API_URL=… BENCH_API_KEY=… DATABASE_URL=… python -m bench.api_load 0 200 30`` then loads it
(used to profile an API process started by hand). The last stdout line is one JSON object.

Where the time goes (2026-12-01, 100k accounts billed: 100k invoices; the machine at load 11-24 with
four other helpers' benches, so every figure here is noisy). cProfile of the ASGI app in-process
(thread-pool hops run inline so one profile sees the whole request), 550 mixed requests:
* ~15 ms of CPU per request before (17.3 and 15.1 ms, two runs; the in-process client included),
  12.9-13.2 ms after: one uvicorn process cannot serve 200/s of these on one core whatever the rest.
* 7.3 SQL round trips per request before: the key lookup was a unit of work of its own (a pool
  checkout with its pre-ping ``SELECT 1``, the select, a COMMIT) before the route's own (ping, its
  selects, COMMIT). Now a verified key is trusted for 10 s per process (api.deps.ApiKeyCache; a key
  revoked through this process is forgotten at once), which removes three of them.
* Each sync dependency was a thread-pool hop: settings, the role checks and the principal are now
  ``async`` (the principal's lookup, on a cache miss, still runs in the pool).
* GET /v1/subscriptions/{id}: 8.6 statements (services, and per service its operator and plan version,
  then scheduled changes, events, pending charges); ``pending_charges`` has no index on
  ``subscription_id`` (a sequential scan once it grows; not changed here: a migration).
* The HTTP side has no uvloop/httptools (uvicorn on h11); the client had to be a tiny keep-alive
  HTTP/1.1 one: httpx's pool spent seconds of CPU once hundreds of requests waited.
Before/after through real API processes on the same filled stack, 50 requests/s for 10 s (one pair,
after then before, load 14-24): after 17.3 requests/s answered (p50 15.6 s: the queue of a saturated
machine), raw SQL 18.7/s in the same run; before 6.9/s (p50 38.8 s), raw SQL 23.3/s. The 200/s,
p99 <= 50 ms target is NOT met here: even the raw SQL of these reads did not keep 50/s at that load.
Idle (2026-12-01, the bench alone): 111 requests/s answered of 200 asked, 0 errors, the raw SQL of the
same reads p99 ~5 ms. Around a 40/s run against one API process on a kept 100k population (psutil CPU
times of the API process and of every PostgreSQL process): 9-11 ms of API CPU per read against 1.7 ms of
PostgreSQL, so one API process tops out near 100/s on its core. With uvloop and httptools installed
(uvicorn picks them up) 9.0-10.0 ms: no gain. py-spy of the API: about ten ASGI layers (request id,
errors, body limit, forwarded headers, metrics, codec CORS, guard, exceptions, exit stack, router), FastAPI's
dependency solving ~12% of the busy samples, the subscription view ~27% (terms per service; since then
each plan version is parsed once per process, no change measured in this mix). Next levers: fewer
middleware layers (one ASGI wrapper doing what the ten do), more than one API process
(``uvicorn --workers``: /metrics would then need Prometheus' multi-process mode), and reads answering
from one SQL statement per route.
Ninth session (idle, a ~3x faster machine: 10M Python additions 0.46 s against 1.3-1.85 s): the first
run right after the bill run answered 198.9/s but p99 2.4 s (p50 4.5 ms): the reads paid for setting the
hint bits of 100k invoices written seconds before and for autovacuum's pass. The bench now settles the
database after the bill run (``bench.settle``: VACUUM ANALYZE, CHECKPOINT), as a database that has run a
while is: **199.1/s, p50 3.4 ms, p99 12.8 ms, 0 errors** (fresh stack); on a warm kept stack 199.4/s, p99
15.6-15.7 ms. The API process spent ~2.1 ms of CPU per read there (psutil, 200/s for 20 s).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg2
import sqlalchemy as sa
from rich.console import Console

from activities.shared.pagination import encode_cursor
from bench.billing import BENCH_ORG, PERIOD, prepare
from bench.keepalive import Connection
from bench.onboarding import Stack
from bench.settle import settle
from runtime.settings import normalise_database_url

SEED = 20261201
ROUTES = ("accounts", "invoice", "subscription")


def bill_through_api(url: str, token: str, console: Console) -> dict[str, Any]:
    """The generated subscriptions' bill run through the stack's API and worker, to its end."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"bench-api-load-{SEED}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as api:
        body = {"bill_day": PERIOD.day, "period_date": PERIOD.isoformat()}
        run = api.post("/v1/billing-runs", json=body)
        run.raise_for_status()
        run_id = run.json()["id"]
        with console.status("billing them through the stack's worker"):
            while True:
                state = api.get(f"/v1/billing-runs/{run_id}").json()
                if state["status"] not in ("running", "pending", "started"):
                    return dict(state)
                time.sleep(2)


def dsn(database_url: str) -> str:
    """The SQLAlchemy URL as psycopg2 reads it."""
    return database_url.replace("postgresql+psycopg2://", "postgresql://", 1)


def sample_ids(database_url: str, rng: random.Random, count: int) -> dict[str, list[str]]:
    """Random ids of the bench operator's accounts (as page cursors), invoices and subscriptions."""
    ids: dict[str, list[str]] = {}
    with psycopg2.connect(dsn(database_url)) as conn, conn.cursor() as cur:
        for route, query in (
            ("accounts", "select id from accounts where organisation_id = %s order by id"),
            ("invoice", "select id from invoices where organisation_id = %s order by id"),
            ("subscription", "select id from subscriptions where organisation_id = %s order by id"),
        ):
            cur.execute(query, (BENCH_ORG,))
            every = [row[0] for row in cur.fetchall()]
            ids[route] = [rng.choice(every) for _ in range(count)] if every else []
    conn.close()
    return ids


def path_of(route: str, value: str) -> str:
    if route == "accounts":
        return f"/v1/accounts?limit=20&cursor={encode_cursor(value)}"
    if route == "invoice":
        return f"/v1/invoices/{value}"
    return f"/v1/subscriptions/{value}"


def summary(latencies: list[float], errors: int, seconds: float) -> dict[str, Any]:
    if len(latencies) < 2:
        return {"requests": len(latencies), "errors": errors}
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies) + errors,
        "errors": errors,
        "rate": round((len(latencies) + errors) / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
    }


async def open_loop(
    url: str, token: str, plan: list[tuple[str, str]], rate: float, connections: int = 64
) -> tuple[dict[str, list[float]], dict[str, int], float, list[str]]:
    """Send ``plan`` (route, path) at ``rate`` requests/s on up to ``connections`` keep-alive connections;
    a request's latency counts from its scheduled time, waiting for a free connection included."""
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    headers = f"Host: {host}:{port}\r\n".encode()
    if token:
        headers += f"Authorization: Bearer {token}\r\n".encode()
    latencies: dict[str, list[float]] = {route: [] for route, _ in plan}
    errors: dict[str, int] = dict.fromkeys(latencies, 0)
    samples: list[str] = []
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(Connection(host, port, headers))
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(due: float, route: str, path: str) -> None:
        conn = await idle.get()
        try:
            status, body = await asyncio.wait_for(conn.get(path), timeout=30)
            ok = status == 200
            if not ok and len(samples) < 5:
                samples.append(f"{path}: {status} {body[:200]!r}")
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            conn.close()
            ok = False
            if len(samples) < 5:
                samples.append(f"{path}: {exc!r}")
        finally:
            idle.put_nowait(conn)
        if ok:
            latencies[route].append(loop.time() - due)
        else:
            errors[route] += 1

    tasks = []
    for i, (route, path) in enumerate(plan):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(one(due, route, path)))
    await asyncio.gather(*tasks)
    seconds = loop.time() - start
    while not idle.empty():
        idle.get_nowait().close()
    return latencies, errors, seconds, samples


SQL = {
    "key": "select k.id, k.organisation_id, k.role, k.secret_hash, k.revoked_at, o.path, o.kind "
    "from api_keys k join organisations o on o.id = k.organisation_id where k.id = %s",
    "accounts": [
        "select a.* from accounts a join organisations o on o.id = a.organisation_id "
        "where o.path like %(path)s and a.id > %(id)s order by a.id limit 21"
    ],
    "invoice": [
        "select i.* from invoices i join accounts a on a.id = i.account_id "
        "join organisations o on o.id = a.organisation_id where i.id = %(id)s and o.path like %(path)s",
        "select * from invoice_lines where invoice_id = %(id)s order by position",
        "select * from credit_notes where invoice_id = %(id)s",
    ],
    "subscription": [
        "select s.* from subscriptions s join organisations o on o.id = s.organisation_id "
        "where s.id = %(id)s and o.path like %(path)s",
        "select * from subscription_services where subscription_id = %(id)s order by id",
        "select * from scheduled_changes where subscription_id = %(id)s and status = 'pending'",
        "select * from subscription_events where subscription_id = %(id)s order by id",
        "select * from pending_charges where subscription_id = %(id)s order by created_at",
    ],
}


def raw_sql(database_url: str, token: str, plan: list[tuple[str, str]], rate: float) -> dict[str, Any]:
    """The same reads as raw SQL from psycopg2 at the same rate (one connection, one transaction each)."""
    key_id = "_".join(token.split("_", 3)[1:3])
    latencies: dict[str, list[float]] = {route: [] for route, _ in plan}
    with psycopg2.connect(dsn(database_url)) as conn:
        conn.autocommit = False
        with conn.cursor() as cur:
            started = time.perf_counter()
            for i, (route, value) in enumerate(plan):
                due = started + i / rate
                time.sleep(max(0.0, due - time.perf_counter()))
                cur.execute(SQL["key"], (key_id,))
                cur.fetchall()
                for statement in SQL[route]:
                    cur.execute(statement, {"id": value, "path": f"/{BENCH_ORG}/%"})
                    cur.fetchall()
                conn.rollback()
                latencies[route].append(time.perf_counter() - due)
            seconds = time.perf_counter() - started
    conn.close()
    return {route: summary(values, 0, seconds) for route, values in latencies.items()}


async def healthz(url: str, rate: float, count: int) -> dict[str, Any]:
    latencies, errors, seconds, _ = await open_loop(url, "", [("healthz", "/healthz")] * count, rate)
    return summary(latencies["healthz"], errors["healthz"], seconds)


def load(
    url: str, token: str, database_url: str, rate: float, seconds: float, console: Console
) -> dict[str, Any]:
    rng = random.Random(SEED)
    total = int(rate * seconds)
    ids = sample_ids(database_url, rng, total)
    routes = [rng.choice(ROUTES) for _ in range(total)]
    values = [ids[route][i] for i, route in enumerate(routes)]
    plan = [(route, path_of(route, value)) for route, value in zip(routes, values, strict=True)]
    with console.status("warming up"):
        asyncio.run(open_loop(url, token, plan[: int(rate * 2)], rate))
    cpu = time.process_time()
    with console.status(f"{total} requests at {rate:g}/s"):
        latencies, errors, elapsed, samples = asyncio.run(open_loop(url, token, plan, rate))
    client_cpu = time.process_time() - cpu
    everything = [v for values in latencies.values() for v in values]
    with console.status("the physical limit: the same reads as raw SQL, /healthz"):
        sql = raw_sql(database_url, token, list(zip(routes, values, strict=True)), rate)
        health = asyncio.run(healthz(url, rate, int(rate * 5)))
    for line in samples:
        console.print(f"[red]{line}")
    return {
        "bench": "api_load",
        "target_rate": rate,
        "seconds": round(elapsed, 1),
        "all": summary(everything, sum(errors.values()), elapsed),
        "routes": {route: summary(latencies[route], errors[route], elapsed) for route in latencies},
        "raw_sql": sql,
        "healthz": health,
        "client_cpu_s": round(client_cpu, 1),
        "load_average": round(os.getloadavg()[0], 1),
    }


def main(argv: list[str]) -> None:
    args = [a for a in argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 100_000
    rate = float(args[1]) if len(args) > 1 else 200.0
    seconds = float(args[2]) if len(args) > 2 else 30.0
    console = Console(stderr=True)
    if os.environ.get("BENCH_API_URL"):
        url, token = os.environ["BENCH_API_URL"], os.environ["BENCH_API_KEY"]
        figures = load(url, token, os.environ["DATABASE_URL"], rate, seconds, console)
        print(json.dumps(figures))
        return
    from runtime.cli import mint_admin_key
    from runtime.servers import embedded_server

    home = Path(tempfile.mkdtemp(prefix="multibill-bench-api-"))
    server = embedded_server(home / "pg", cleanup_mode="delete")
    database_url = normalise_database_url(server.get_uri())
    stack = Stack(home / "home", database_url)
    keep = "--keep" in argv
    try:
        with console.status("starting multibill up"):
            stack.wait()
        prepare(database_url, BENCH_ORG, count, console)
        token = mint_admin_key(database_url, BENCH_ORG)
        started = time.perf_counter()
        run = bill_through_api(stack.url, token, console)
        console.print(f"billed in {time.perf_counter() - started:.1f} s: {run['status']} {run['counts']}")
        engine = sa.create_engine(database_url)
        settle(engine, console)  # the reads of a running operator's database, not of one loaded just now
        engine.dispose()
        figures = load(stack.url, token, database_url, rate, seconds, console)
        figures["accounts"] = count
        if keep:
            console.print(f"BENCH_API_URL={stack.url} BENCH_API_KEY={token} DATABASE_URL={database_url}")
            console.print(f"stack pid {stack.process.pid}, home {home}; Ctrl-C to stop it")
            print(json.dumps(figures))
            stack.process.wait()
            return
        print(json.dumps(figures))
    finally:
        stack.stop()
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

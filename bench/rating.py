"""Rate synthetic CDRs against a 10,000-prefix deck, then ingest events through the HTTP API.

Run: ``python -m bench.rating [N] [EVENTS]`` (defaults 1,000,000 CDRs and 200,000 events). Inputs come
from a fixed seed and are built before the clock starts.

1. Engine: longest-prefix match, time band in the caller's zone, the call rated and rounded once, on one
   core (issue #19 target: ≥ 500,000 CDRs/s).
2. Ingestion: `multibill api` in a process of its own (as deployed: the bench's clients no longer share
   its GIL) against an embedded PostgreSQL, batches of
   1,000 events from 8 concurrent clients (target ≥ 50,000 events/s and ≥ 0.3 of COPY), then every
   batch sent again under new Idempotency-Keys (all counted as duplicates, none stored twice), then
   EVENTS other events in batches of 100 from 10 concurrent clients (target ≥ 20,000 events/s).
3. The machine's raw ``COPY`` of the same rows into a scratch table, for scale (``ingest_copy_ratio``).

The last stdout line is one JSON object with the figures and the 1-minute load average (2 shared cores).

Where the time went (cProfile; the machine at load 7-14, so read the shares, not the absolute times):

- Engine, 300,000 CDRs: the rounding through ``money.quantize`` ~30% (the exponent and the
  ``RoundingMode`` looked up per call; a StrEnum hashes in Python), the band choice ~25% (``time``
  objects turned into minutes per call), the prefix match ~20% (a dict lookup per length to find the
  table), ``astimezone`` ~15%, the integer cost ~10%. Now: the mode and exponent bound once per tariff
  (``money.quantizer``: the same rounding), band minutes computed once, the tables walked as (length,
  table) pairs. Tried and dropped: a binary search on the prefix length over marker keys (3 lookups
  instead of ~5) was twice as slow in CPython (4.0 against 1.9 us per match).
- Ingestion (the route's work without HTTP, 20 batches of 1,000): ``phonenumbers`` turning every
  destination into E.164 36% (~36 us each), the INSERT statement in PostgreSQL 34%, ``execute_values``'
  per-row ``mogrify`` 8%, ``check_event`` 9%, the dozen small queries of a batch through SQLAlchemy 7%.
  Now: ``+``-and-digits numbers take the E.164 rule learnt once per (country code, length) from
  ``phonenumbers`` (3.4 us; checked against the full parse for every country code), the rows go in by
  ``COPY`` into a temporary table and one INSERT … SELECT, the organisation's region is read once per
  batch: the route's CPU per event halved (8,400 → 15,700 events per CPU second in that harness).
- Left: PostgreSQL's share (the keys' and the partitioned table's four indexes, the FK check per row),
  uvicorn's pure-Python h11 (no httptools/uvloop in the lock), the idempotency fingerprint
  (``json.dumps(sort_keys=True)`` of the whole body, api/idempotency.py) and, for 100-event batches,
  the ~14 round trips per request (key lookup, idempotency record, subscribers, regions, COPY, INSERT).
- Ninth session (idle, faster machine; CPU of each process sampled every 0.5 s): with the API in the
  bench's process its clients took a third of the GIL. In its own process, 1,000-event batches: API ~75%
  of a core, PostgreSQL ~80-110% (the two are the bound), clients ~10%; 100-event batches: API ~85%,
  PostgreSQL ~65%. py-spy of the API: the NUL-escape pattern over each JSON body (3 ms per 1,000-event
  batch; now a substring test first), JSON decoding ~12%, ``check_event`` ~10% (2.3 us an event),
  the batch's lookups. Now the organisation's path and region in one statement and the subscriptions and
  services named by id in one (7 lookups a batch → 4), the idempotency record's response one UPDATE.
  ``1000000 200000``: 1,000-event batches 35,030 → 40,079 events/s (0.21-0.31 of COPY: the raw COPY
  itself varies 130k-193k rows/s run to run), 100-event batches 12,107 → 17,953 events/s; engine 545-574k
  CDRs/s (target 500k met on this machine).
- Tenth session (a slow, noisy machine: 10M Python additions 1.1-1.8 s, ~33% steal; engine ~105-128k
  CDRs/s here). The JSON line now carries the API process's CPU per event for each batch size
  (``api_cpu_us_per_event``, ``small_api_cpu_us_per_event``): steadier than events/s on a shared machine.
  uvicorn with httptools and uvloop, alternated with the plain install (``10000 50000``, four runs):
  100-event batches 126 and 119 µs of API CPU per event without, 139 and 140 with; 1,000-event batches
  39-47 against 46-48. No gain (the eighth session found the same for reads): not added.
  Statements per 100-event batch of ``sub_`` ids (SQLAlchemy's ``before_cursor_execute``): 6 through the
  session (idempotency key, organisation scope, aliases, ids, regions, stored response) plus the staging
  table's 3 on the raw cursor, the pool's ping and the commit.
- Thirteenth session (10M Python additions 0.75-0.93 s). The API's CPU per event (27-34 µs with
  1,000-event batches) was three times what its parts cost when timed alone (per event: ``check_event``
  2.7 µs, the idempotency fingerprint 1.3 µs, JSON decoding 0.6 µs, validation 1.1 µs, the COPY line
  ~3 µs). A ``gc.callbacks`` timer in the API process (a ``sitecustomize`` on ``PYTHONPATH``, ``/tmp``
  harness posting 100,000 events in 1,000-event batches from 10 clients): 2 full collections of
  ~290 ms each and ~380 young ones during the 100,000 events, 0.68-1.03 s of the 2.9-3.4 s of API CPU
  (~27%): every full collection walks the whole start-up heap (modules, mappers, validators, routes).
  Now the API and the worker call ``runtime.heap.settle()`` once started (``gc.freeze()`` of the
  start-up heap, young collections every 20,000 allocations instead of 700): the same run's collections
  0.03-0.07 s; alternated off/on/off/on: 28.8, 33.9 µs of API CPU per event without, 24.5, 19.5 with
  (21.4k, 19.0k → 22.7k, 28.8k events/s); API RSS 185 MB either way. 100-event batches: no difference
  to see (93, 75 against 67, 82 µs per event: a small batch allocates too little to matter).
- Fifteenth session (a fast idle machine: 10M Python additions 0.52 s). CPU per process sampled from
  ``/proc`` each second: 100-event batches PostgreSQL ~80%, the API ~70%, the bench's httpx clients
  ~20% of a core (total ~170%); 1,000-event batches PostgreSQL 110-120%, the API ~65%. Changes, each
  measured with two or three runs of ``1000 200000``:
  the clients are ``bench.keepalive`` connections posting bodies encoded before the clock (as
  bench.api_load's reads; the client's CPU fell to ~2%): 100-event batches 16.1k → 17.8-18.0k events/s;
  the idempotency claim and stored response run on the Core table (through the ORM entity SQLAlchemy
  sent them through its bulk insert/update: 450 → 165 µs of client CPU per pair, on every POST) and a
  batch's aliases and subscription regions as text statements: 19.7k, API CPU 44 → 37 µs an event
  (py-spy ``--gil`` had ``_BulkORMInsert``/``_BulkORMUpdate`` at 9% of the API's samples); COPY reads a
  batch in one chunk (``pg_stat_statements``: COPY of 100 rows took 2.2 ms under load, waiting for the
  API to read each 8 KB chunk with the GIL): 20.7-21.0k; migration 0054 drops
  ``ix_usage_events_client_id``, read by no query (``usage_event_keys`` guards "once per client id"):
  with 8 connections COPYing and inserting 1,000-event batches straight into PostgreSQL (``/tmp``
  harness, alternated) ~57k events/s with it, ~70k without. After all four: 1,000-event batches
  48-51k events/s (13.5 µs of API CPU an event), 100-event batches 20.4-22.4k. The raw COPY baseline
  copies into ``LIKE usage_events INCLUDING INDEXES``, so it lost the index too: 90-135k → ~206-220k
  rows/s, and the ratio went from 0.26-0.43 to 0.22-0.25 while the rate rose.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from domain.rating import RateGroup, Tariff
from domain.tariffs import CompiledTariff, DestinationRate, RateDeck, TimeBand
from runtime.processes import Child, spawn, stop, tail

SEED = 20260601
PREFIXES = 10_000
BATCH = 1_000
CLIENTS = 8
SMALL_BATCH = 100
SMALL_CLIENTS = 10
ZONES = ("Europe/Madrid", "America/New_York", "Asia/Tokyo", "UTC")


def build_deck(rng: random.Random) -> tuple[RateDeck, list[str]]:
    weekend = TimeBand("weekend", frozenset({5, 6}), datetime.min.time(), datetime.min.time())
    tariffs = [
        CompiledTariff.of(
            Tariff(
                Decimal(rng.choice(["0", "0.10", "0.40"])),
                (
                    RateGroup(0, Decimal(rng.randint(1, 300)) / 100, 60, rng.choice([1, 30, 60])),
                    RateGroup(60, Decimal(rng.randint(1, 200)) / 100, 60, 1),
                ),
                minimum_duration=rng.choice([0, 0, 10]),
            )
        )
        for _ in range(200)
    ]
    prefixes: set[str] = set()
    while len(prefixes) < PREFIXES:
        prefixes.add(str(rng.randint(1, 99)) + "".join(rng.choices("0123456789", k=rng.randint(0, 5))))
    destinations = [
        DestinationRate(p, p, ((weekend, "w", rng.choice(tariffs)),), ("std", rng.choice(tariffs)))
        for p in sorted(prefixes)
    ]
    return RateDeck("EUR", destinations), sorted(prefixes)


def build_cdrs(count: int, prefixes: list[str], rng: random.Random) -> list[tuple[str, int, datetime, str]]:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    cdrs = []
    for _ in range(count):
        prefix = rng.choice(prefixes)
        number = prefix + "".join(rng.choices("0123456789", k=11 - min(len(prefix), 10)))
        at = start + timedelta(seconds=rng.randint(0, 30 * 86_400))
        cdrs.append((number, rng.randint(0, 3_600), at, rng.choice(ZONES)))
    return cdrs


def rate_engine(
    deck: RateDeck, cdrs: list[tuple[str, int, datetime, str]], console: Console
) -> tuple[float, float, Decimal]:
    """Wall and CPU seconds (the CPU figure holds on a loaded machine) and the rated total."""
    total = Decimal(0)
    step = max(1, len(cdrs) // 50)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("rating CDRs", total=len(cdrs))
        started, cpu = time.perf_counter(), time.process_time()
        for offset in range(0, len(cdrs), step):
            for number, seconds, at, zone in cdrs[offset : offset + step]:
                found = deck.tariff_for(number, deck.local_time(at, zone))
                if found is not None:
                    total += found[2].cost(seconds)
            progress.advance(task, step)
        return time.perf_counter() - started, time.process_time() - cpu, total


def make_events(count: int, subscriber: str, rng: random.Random, tag: str = "") -> list[dict[str, Any]]:
    now = datetime.now(UTC) - timedelta(days=1)
    return [
        {
            "client_event_id": f"bench-{SEED}-{tag}{index}",
            "subscriber": subscriber,
            "event_type": "voice",
            "quantity": rng.randint(1, 3_600),
            "started_at": (now - timedelta(seconds=rng.randint(0, 20 * 86_400))).isoformat(),
            "destination": "+34" + "".join(rng.choices("0123456789", k=9)),
        }
        for index in range(count)
    ]


@dataclass
class ApiProcess:
    """`multibill api` in a process of its own on ``port`` (the bench's clients do not share its GIL, as
    no real client would), serving ``database_url``."""

    database_url: str
    port: int
    child: Child

    def cpu_seconds(self) -> float:
        """The API process's CPU time so far (user + system)."""
        from bench.onboarding import cpu_seconds

        return cpu_seconds(self.child.pid)


def start_api(database_url: str, log: Path) -> ApiProcess:
    """`python -m runtime.cli api` on a free port, spawned as the stack spawns its children; returns once
    it answers HTTP (/healthz is 503 without Temporal, which these benches do not start: any answer will
    do)."""
    import httpx

    from bench.onboarding import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MULTIBILL_")}
    env["DATABASE_URL"] = database_url  # logs at the operator default (INFO, access lines included)
    command = [sys.executable, "-m", "runtime.cli", "api", "--host", "127.0.0.1", "--port", str(port)]
    child = spawn("api", command, log, env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not child.running():
            raise RuntimeError(f"the API exited with {child.popen.returncode}:\n{tail(log)}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return ApiProcess(database_url, port, child)
        except httpx.HTTPError:
            time.sleep(0.1)
    stop([child])
    raise RuntimeError(f"the API did not answer within 120 s:\n{tail(log)}")


@contextmanager
def api_on_new_database(console: Console) -> Iterator[ApiProcess]:
    """A new embedded PostgreSQL, migrated, with `multibill api` on it in its own process; both gone on
    the way out."""
    from models.migrate import upgrade
    from runtime.servers import embedded_server
    from runtime.settings import normalise_database_url

    data_dir = Path(tempfile.mkdtemp(prefix="multibill-bench-pg-")) / "data"
    with console.status("starting embedded PostgreSQL and migrating"):
        server = embedded_server(data_dir, cleanup_mode="delete")
        url = normalise_database_url(server.get_uri())
        upgrade(url)
    try:
        with console.status("starting the API"):
            api = start_api(url, data_dir.parent / "api.log")
        try:
            yield api
        finally:
            stop([api.child], timeout=30)
    finally:
        server.cleanup()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def tenant(database_url: str, port: int) -> tuple[str, str, str]:
    """An operator, its admin key and a subscription (inserted directly) to send usage for."""
    import httpx

    from activities.accounts.organisations import create_organisation, mint_api_key
    from domain.organisations import OrganisationKind, Role
    from models.base import unit_of_work
    from models.subscriptions import Subscription

    with unit_of_work(database_url) as session:
        org = create_organisation(
            session, name="Bench", kind=OrganisationKind.OPERATOR, parent=None, country="ES"
        )
        _, token = mint_api_key(session, organisation=org, role=Role.ADMIN, name="bench")
        org_id = org.id
    person = {
        "type": "person",
        "given_name": "Ana",
        "family_name": "Ruiz",
        "email": "ana@example.com",
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "language": "es",
    }
    resp = httpx.post(
        f"http://127.0.0.1:{port}/v1/accounts",
        json=person,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    resp.raise_for_status()
    with unit_of_work(database_url) as session:
        sub = Subscription(
            id=f"sub_BENCH{uuid.uuid4().hex[:21].upper()}",
            organisation_id=org_id,
            account_id=resp.json()["id"],
            request_id=uuid.uuid4().hex,
            status="active",
            currency="EUR",
            timezone="Europe/Madrid",
            bill_day=1,
            billing_term="in_advance",
            start_date=datetime.now(UTC).date() - timedelta(days=60),
        )
        session.add(sub)
    return org_id, token, sub.id


async def post_batches(
    port: int, token: str, batches: list[bytes], progress: Progress, clients: int = CLIENTS
) -> dict[str, int]:
    """POST every batch (JSON bodies encoded beforehand) to /v1/usage from ``clients`` keep-alive
    connections, each under a new Idempotency-Key; the answers' counts summed."""
    from bench.keepalive import Connection

    totals = {"accepted": 0, "duplicates": 0, "suspense": 0, "rejected": 0}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    task = progress.add_task("POST /v1/usage", total=len(batches))
    auth = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n".encode()

    async def client() -> None:
        connection = Connection("127.0.0.1", port, auth)
        try:
            while not queue.empty():
                body = queue.get_nowait()
                key = b"Idempotency-Key: " + uuid.uuid4().hex.encode() + b"\r\n"
                status, answer = await connection.post("/v1/usage", body, key)
                if status != 200:
                    raise RuntimeError(f"POST /v1/usage answered {status}: {answer[:300]!r}")
                counts = json.loads(answer)
                for name in ("accepted", "duplicates", "suspense"):
                    totals[name] += counts[name]
                totals["rejected"] += len(counts["rejected"])
                progress.advance(task)
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return totals


def encoded(events: list[dict[str, Any]], size: int) -> list[bytes]:
    """``events`` as JSON request bodies of ``size`` events each (built before the clock starts)."""
    return [json.dumps({"events": events[i : i + size]}).encode() for i in range(0, len(events), size)]


def copy_rate(
    database_url: str, organisation_id: str, subscriber: str, events: list[dict[str, Any]]
) -> float:
    from models.base import engine_for

    buffer = io.StringIO()
    for e in events:
        buffer.write(
            f"{organisation_id}\tcopy-{e['client_event_id']}\t{subscriber}\t{subscriber}\tvoice\tvoice\t"
            f"{e['quantity']}\t{e['started_at']}\t{e['destination']}\tapi\taccepted\n"
        )
    raw = engine_for(database_url).raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "CREATE TEMP TABLE copy_bench (LIKE usage_events INCLUDING DEFAULTS INCLUDING INDEXES)"
        )
        buffer.seek(0)
        started = time.perf_counter()
        cursor.copy_expert(
            "COPY copy_bench (organisation_id, client_event_id, subscriber, subscription_id, event_type, "
            "metric, quantity, started_at, destination, source, status) FROM STDIN",
            buffer,
        )
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def ingest_bench(count: int, console: Console) -> dict[str, Any]:
    import sqlalchemy as sa

    with api_on_new_database(console) as api:
        url, port = api.database_url, api.port
        org, token, subscriber = tenant(url, port)
        events = make_events(count, subscriber, random.Random(SEED))
        batches = encoded(events, BATCH)
        small_batches = encoded(make_events(count, subscriber, random.Random(SEED + 1), tag="s"), SMALL_BATCH)
        with Progress(console=console, transient=True) as progress:
            started, cpu = time.perf_counter(), api.cpu_seconds()
            first = asyncio.run(post_batches(port, token, batches, progress))
            seconds, api_cpu = time.perf_counter() - started, api.cpu_seconds() - cpu
            again = asyncio.run(post_batches(port, token, batches, progress))
            started, cpu = time.perf_counter(), api.cpu_seconds()
            few = asyncio.run(post_batches(port, token, small_batches, progress, SMALL_CLIENTS))
            small_seconds, small_api_cpu = time.perf_counter() - started, api.cpu_seconds() - cpu
        with sa.create_engine(url).connect() as conn:
            stored = conn.execute(
                sa.text("SELECT count(*) FROM usage_events WHERE organisation_id = :o"), {"o": org}
            ).scalar_one()
        with console.status("raw COPY of the same rows"):
            copy_seconds = copy_rate(url, org, subscriber, events)
        return {
            "events": count,
            "ingest_seconds": round(seconds, 3),
            "events_per_s": round(count / seconds),
            "api_cpu_us_per_event": round(api_cpu / count * 1e6, 1),
            "stored": stored,
            "accepted": first["accepted"],
            "resent_duplicates": again["duplicates"],
            "small_batch": SMALL_BATCH,
            "small_clients": SMALL_CLIENTS,
            "small_seconds": round(small_seconds, 3),
            "small_events_per_s": round(count / small_seconds),
            "small_api_cpu_us_per_event": round(small_api_cpu / count * 1e6, 1),
            "small_accepted": few["accepted"],
            "copy_rows_per_s": round(count / copy_seconds),
            "ingest_copy_ratio": round(copy_seconds / seconds, 3),
        }


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 1_000_000
    events = int(argv[2]) if len(argv) > 2 else max(BATCH, count // 5)
    console = Console(stderr=True)
    rng = random.Random(SEED)
    with console.status(f"building a {PREFIXES}-prefix deck and {count} CDRs"):
        deck, prefixes = build_deck(rng)
        cdrs = build_cdrs(count, prefixes, rng)
    seconds, cpu_seconds, total = rate_engine(deck, cdrs, console)
    figures: dict[str, Any] = {
        "bench": "rating",
        "cdrs": count,
        "prefixes": len(deck),
        "rating_seconds": round(seconds, 3),
        "cdrs_per_s": round(count / seconds),
        "cdrs_per_cpu_s": round(count / cpu_seconds),
        "rated_total": str(total),
    }
    figures.update(ingest_bench(events, console))
    figures["load_1min"] = round(os.getloadavg()[0], 2)  # 2 cores shared: read the figures against it
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv)

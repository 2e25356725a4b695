"""Onboard N subscriptions through the API of a real `multibill up` stack (embedded PostgreSQL,
Temporal dev server, worker and API as separate processes) and time each from POST to active.

Run: ``python -m bench.onboarding [N] [C1]`` (default 500 and 40). Beside it, the same run measures a
trivial one-activity workflow on the same Temporal server: the dev server's own ceiling. After the N
onboardings at concurrency 25 it onboards C1 more one at a time (``p50_c1_ms``). Latency is from the
POST to the process's result (active, welcome notice sent), awaited by a long poll: no polling interval.
The last stdout line is one JSON object with the figures, the shape of one onboarding's history
(events, workflow tasks, activity tasks, markers) and the 1-minute load average at the end.

Where the time went (issue #19; the history of one onboarding of a plain broadband plan, and the run
alternated old/new workflow on the shared 2-core machine): the old Onboarding made 5 activities
(create, charges, provision, activate, welcome), each a round trip through the server (schedule, poll,
start, complete, then a workflow task to decide the next): 35 history events, 6 workflow tasks and 5
activity tasks, against the trivial workflow's 2 and 1. The time of each step's database work was
not measured apart (no py-spy here; cProfile of the worker under this load was not attempted): the
reading is from the history's shape and from the alternated runs below, where cutting the round
trips cut c1 latency and raised the ratio. The API's start path does one transaction (the idempotent write
and the plan) and one ``start_workflow``; the organisation path is cached; a start with eager
execution cannot help, the API and the worker being separate processes.

Change (workflow patch ``onboarding-local-steps``): the short database steps run as local activities
inside the workflow task that reaches them; provisioning (a call to the peers) stays an activity.
One onboarding is now 17 events, 2 workflow tasks, 1 activity task and 5 markers (the patch and 4
local activities): the trivial workflow's shape.

Measured (``python -m bench.onboarding 100 20``; load average 12-16 throughout, other helpers' benches
running, so the trivial ceiling itself was 2.0-2.4/s instead of 27/s on the idle machine):

| run (order) | load | onboardings/s | trivial/s | ratio | p50 c25 | p50 c1 | p95 c1 |
|---|---|---|---|---|---|---|---|
| A old (200, 40) | 14.6 | 0.7 | 2.4 | 0.30 | 31.8 s | 1,931 ms | 2,859 ms |
| B new | 13.7 | 1.2 | 2.1 | 0.57 | 18.6 s | 789 ms | 1,492 ms |
| A old | 12.5 | 0.9 | 2.0 | 0.43 | 26.1 s | 1,273 ms | 1,951 ms |
| B new | 14 → 25 | 1.1 | 1.7 | 0.67 | 20.8 s | 1,445 ms | 2,584 ms |

New against old: ratio to trivial 0.57-0.67 against 0.30-0.43; p50 at concurrency 1 789 ms against
1,273 ms at similar load (12.5-13.7); the last run's c1 figure was taken at load 25. On this machine's
load neither p50_c1 ≤ 400 ms nor the 0.6 ratio could be shown reliably: both need a run on the idle
machine (the trivial ceiling there is ~27/s). Left as it is: provisioning as a local activity too (one
workflow task per onboarding; a call to the peers, kept an activity for its retries in the history), the
worker's poller settings (runtime/worker.py), the welcome email after activation inside the measured time.

Tenth session (a slow, noisy machine: 10M Python additions 1.1-1.8 s). The worker's side of one
onboarding, measured by replaying a stored history (``tests/workflows/histories/onboarding_local_steps.json``)
through ``Replayer`` 150-300 times in a ``/tmp`` harness: 33-43 ms of CPU per onboarding here. py-spy of
it: creating the sandboxed instance ~24% (the sandbox imports the workflow's module afresh for every run:
``OnboardingResult``, a pydantic model defined in that module, was rebuilt each time, ~1/5 of it, and
``workflow.defn`` evaluated the string annotations of ``from __future__ import annotations`` another 1/5),
the SDK's payload visiting ~30% (``get_serialization_context`` compiles and runs a snippet inside the
sandbox per command: temporalio's own cost), history JSON parsing ~10% (replay only). Now the result
model lives beside ``OnboardingInput`` (activities/subscriptions/io.py, passed through) and the workflow
module has no postponed annotations: executing the module takes 0.77 ms instead of 1.62 ms (best of six
rounds of 100, both versions alternated in one process), ~3% of an onboarding's worker CPU. No bench run
of this machine can show 3% (the trivial rate itself swings by a third).

Twelfth session (slow machine: 10M Python additions 1.0-1.5 s). What the sandbox itself costs, by the
same replay of ``onboarding_local_steps.json`` (a ``/tmp`` harness: 100 replays after a warm one, CPU
per replay, runners alternated twice): the default ``SandboxedWorkflowRunner`` 29.2 and 31.8 ms,
``SandboxRestrictions.default.with_passthrough_all_modules()`` 22.0 and 24.8 ms, the
``UnsandboxedWorkflowRunner`` 13.7 and 14.8 ms. So about half of the workflow side of an onboarding is the
sandbox (a fresh module environment per run, the restriction proxies). Not changed: passing every
module through shares the workflow modules' globals between runs and lets a ``datetime.now()`` in
workflow code go unnoticed by the worker; only the stored-history replays in tests (which keep the
default sandbox) would catch it. Worth it only if a run of this bench on an idle machine shows the
worker, not the dev server, as the bound; measure before choosing.

Thirteenth session (10M Python additions 0.75-0.93 s). py-spy (``--gil``) of the stack's worker during
the concurrent run: creating the sandboxed instance 12% of its samples (the fresh import of
``workflows/onboarding.py``, ``workflow.defn`` re-run on the class ~5%), ``get_serialization_context``
11% (the SDK asks the sandbox for each payload's context by ``exec`` of a source string), the local
activities' SQLAlchemy work ~18%. ``exec`` of a string compiles it every call (~20 µs); the worker's
runner is now ``runtime/sandbox.py``'s, which compiles each of the SDK's few snippets once and leaves
the sandbox otherwise as it is. The replay of ``onboarding_local_steps.json`` (``/tmp`` harness, 200
histories through one ``Replayer``, alternated twice): 19.2 and 18.5 ms of CPU per replay before, 17.3
and 16.6 ms after (-10%). The bench now prints the worker's and the API's CPU per onboarding of the
concurrent run (``worker_cpu_ms``, ``api_cpu_ms``), read from /proc; they swing between runs too (44.6
to 85 ms of worker CPU per onboarding in five runs of 300 on the idle machine, rising as the rate falls:
the ratio was 0.82 in the fastest, 0.47-0.52 in the others, both runners), so no bench run here shows
a 10% gain either way.

Fourteenth session (10M Python additions ~0.8 s). The bench now reads every process's CPU, per onboarding
and per trivial workflow (``cpu_ms_per_onboarding``, ``cpu_ms_per_trivial``: worker, API, dev server,
PostgreSQL with its ended backends, this process). A run of 200 at concurrency 25: the onboarding ~120 ms
of CPU in all (worker 48, dev server 45, PostgreSQL 12, API 8, this process 4), the trivial workflow ~52
(dev server 37, its worker and client here 14). The dev server costs about the same per process either
way; the difference is the worker and the database, so the ratio follows the onboarding's CPU. The
worker's statements, counted by a SQLAlchemy hook (``/tmp`` sitecustomize in the stack's processes): 33
statements and 7 commits per onboarding, among them the operator read three times by the first two steps
and the subscription and account twice by the welcome notice (the session's identity map holds rows
weakly: a row no one held any more was read again), two UPDATEs of the subscription at activation, and
the charges step's own transaction. Changes: the creation and the activation charges are one local
activity (``open_subscription``, one transaction; patch ``onboarding-one-opening-step``; three local
activities and 18 history events, the patch adding its marker and search-attribute upsert), the
subscription steps hold the rows they reuse (``records.organisation``, ``records.holder``), activation
clears the process in its own write: 27 statements and 5 commits. Measured ``python -m bench.onboarding
400``/``500``, the trees alternated (eight pairs, after ``make bytecode`` in both for the last four; the
machine's own speed swung by a third, the trivial workflow's CPU 42-73 ms): ratio before 0.45-0.62 (mean
0.52), after 0.54-0.73 (mean 0.61); the onboarding's CPU over the trivial's in the same run 2.10-2.97
(mean 2.55) before, 1.80-2.45 (mean 2.16) after: -15%. Where ``.pyc`` files are stale (an edited module
and no ``make bytecode``, with PYTHONDONTWRITEBYTECODE set) the sandbox compiles
``workflows/onboarding.py`` from source for every run: ~9% of the worker (py-spy), so compare trees only
after ``make bytecode``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from bench._trivial import TrivialWorkflow, noop
from runtime.codec import data_converter, dev_payload_keys
from runtime.settings import Settings

CONCURRENCY = 25
SINGLES = 40  # onboardings one at a time after the concurrent run: p50_c1_ms
KEY = re.compile(r"API key: (mb_\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """`multibill up` in a temporary home, on its own embedded PostgreSQL or on ``database_url`` (a
    server the bench owns and fills); ports picked free."""

    def __init__(self, home: Path, database_url: str | None = None) -> None:
        self.home = home
        self.api_port, self.temporal_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TEMPORAL_ADDRESS"}}
        if database_url:
            env["DATABASE_URL"] = database_url
        env.update(
            MULTIBILL_HOME=str(home),
            MULTIBILL_API_PORT=str(self.api_port),
            MULTIBILL_TEMPORAL_PORT=str(self.temporal_port),
            MULTIBILL_TEMPORAL_UI_PORT=str(free_port()),
            MULTIBILL_SMTP_PORT=str(free_port()),
            COLUMNS="200",
        )
        env.pop("MULTIBILL_SMTP_HOST", None)
        self.log = home.parent / "up.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli", "up"],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.api_port}"

    def wait(self) -> str:
        deadline = time.monotonic() + 360  # a loaded 2-core machine starts slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"multibill up exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    found = KEY.search(self.log.read_text())
                    assert found, self.log.read_text()
                    return found.group(1)
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the stack did not become healthy:\n{self.log.read_text()}")

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds so far of every process under the stack, by role: ``worker``, ``api``,
        ``temporal`` (the dev server), ``postgres`` (the embedded server in the stack's home and its
        backends, ended ones included: the server's reaped children's time; 0 on a server the bench
        passed in) and ``other`` (`multibill up` itself, the mail sink)."""
        parent: dict[int, int] = {}
        argv: dict[int, list[bytes]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                argv[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:  # gone meanwhile
                continue
            parent[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
        # the embedded PostgreSQL is started detached (pg_ctl): its server is found by its data directory
        home = str(self.home.resolve()).encode()
        servers = {
            pid for pid, args in argv.items() if b"postgres" in args[0] and any(home in a for a in args)
        }
        totals = dict.fromkeys(("worker", "api", "temporal", "postgres", "other"), 0.0)
        for pid in argv:
            ancestor = pid
            while ancestor not in (0, 1, self.process.pid) and ancestor not in servers:
                ancestor = parent.get(ancestor, 0)
            if ancestor in servers:
                role = "postgres"
            elif ancestor == self.process.pid or pid == self.process.pid:
                args = argv[pid]
                role = "other"
                if args[1:3] == [b"-m", b"runtime.cli"] and args[3:4] in ([b"worker"], [b"api"]):
                    role = args[3].decode()
                elif args[0].endswith(b"temporal"):
                    role = "temporal"
            else:
                continue
            try:
                totals[role] += cpu_seconds(pid, children=pid in servers)
            except OSError:
                continue
        return totals

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def cpu_seconds(pid: int, children: bool = False) -> float:
    """A process's CPU time so far (user + system), from /proc; ``children``: with its ended children's
    that it has waited for (PostgreSQL's server: its closed backends)."""
    # /proc/PID/stat: fields 14-17 (utime, stime, cutime, cstime) in clock ticks, after the name
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


async def post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await api.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    if resp.status_code not in (200, 201, 202):
        raise RuntimeError(f"{path}: {resp.status_code} {resp.text}")
    return dict(resp.json())


async def catalogue(api: httpx.AsyncClient) -> str:
    product = f"fibre-{uuid.uuid4().hex[:6]}"
    await post(api, "/v1/catalog/products", {"code": product, "name": "Fibre", "kind": "broadband"})
    plan = f"plan-{uuid.uuid4().hex[:6]}"
    await post(
        api,
        "/v1/catalog/plans",
        {
            "code": plan,
            "name": "Fibre 300",
            "product_code": product,
            "effective_from": "2020-01-01",
            "phases": [{"kind": "evergreen", "prices": {"EUR": "30.00"}}],
            "one_off_fees": [{"code": "setup", "name": "Setup", "prices": {"EUR": "20.00"}}],
        },
    )
    return plan


async def trivial_rate(client: Client, count: int) -> float:
    queue = f"bench-trivial-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(max_workers=16) as pool:
        async with Worker(
            client, task_queue=queue, workflows=[TrivialWorkflow], activities=[noop], activity_executor=pool
        ):
            started = time.perf_counter()
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(i: int) -> None:
                async with gate:
                    await client.execute_workflow(TrivialWorkflow.run, i, id=f"{queue}-{i}", task_queue=queue)

            await asyncio.gather(*(one(i) for i in range(count)))
            return count / (time.perf_counter() - started)


async def onboard_all(
    api: httpx.AsyncClient,
    client: Client,
    plan: str,
    accounts: list[str],
    progress: Progress,
    concurrency: int = CONCURRENCY,
) -> tuple[list[float], float, str]:
    """Onboard each account, ``concurrency`` at a time; each latency is from the POST to the process's
    result (``active``, after the welcome notice: the process has ended), awaited by a long poll;
    the latencies, the seconds of the whole and the last process id."""
    task = progress.add_task(f"onboarding at concurrency {concurrency}", total=len(accounts))
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    last: list[str] = []

    async def one(account_id: str) -> None:
        async with gate:
            started = time.perf_counter()
            out = await post(api, "/v1/subscriptions", {"account_id": account_id, "items": [{"plan": plan}]})
            result = await client.get_workflow_handle(out["process_id"]).result()
            if result.get("status") != "active":
                raise RuntimeError(f"{out['subscription_id']} ended {result}")
            latencies.append(time.perf_counter() - started)
            last[:] = [out["process_id"]]
            progress.advance(task)

    started = time.perf_counter()
    await asyncio.gather(*(one(a) for a in accounts))
    return latencies, time.perf_counter() - started, last[0]


def reading(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of the stack's processes by role and of this process (``bench``)."""
    return {**stack.cpu_by_role(), "bench": time.process_time()}


def per_run(before: dict[str, float], after: dict[str, float], runs: int) -> dict[str, float]:
    """CPU milliseconds per run of each role between two readings, and their total."""
    split = {role: round((after[role] - before[role]) / runs * 1000, 1) for role in before}
    return {**split, "total": round(sum(split.values()), 1)}


async def history_shape(client: Client, process_id: str) -> dict[str, int]:
    """The round trips of one onboarding: its history's events, workflow tasks and activity tasks."""
    history = await client.get_workflow_handle(process_id).fetch_history()
    kinds = [event.event_type for event in history.events]
    markers = [
        event.marker_recorded_event_attributes.marker_name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    return {
        "history_events": len(kinds),
        "workflow_tasks": kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        "activity_tasks": kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        "local_activities": markers.count("core_local_activity"),  # not the patches' markers
    }


async def run(count: int, console: Console, singles: int = SINGLES) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="multibill-bench-")) / "home"
    stack = Stack(home)
    try:
        with console.status("starting multibill up"):
            token = stack.wait()
        headers = {"Authorization": f"Bearer {token}"}
        # The stack seals payloads with its home's key (runtime/codec.py): this client reads them with it.
        keys = os.environ.get("MULTIBILL_PAYLOAD_KEYS") or dev_payload_keys(home.resolve())
        converter = data_converter(Settings(environment="test", payload_keys=keys))
        client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", data_converter=converter)
        limits = httpx.Limits(max_connections=CONCURRENCY * 2)
        async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=60, limits=limits) as api:
            plan = await catalogue(api)
            with console.status(f"creating {count} accounts"):
                gate = asyncio.Semaphore(CONCURRENCY)

                async def account(i: int) -> str:
                    async with gate:
                        body = {
                            "type": "person",
                            "given_name": "Bench",
                            "family_name": str(i),
                            "email": f"bench{i}@example.com",
                            "currency": "EUR",
                            "timezone": "Europe/Madrid",
                        }
                        return str((await post(api, "/v1/accounts", body))["id"])

                accounts = await asyncio.gather(*(account(i) for i in range(count + singles)))
            with console.status("trivial workflows"):
                trivial_count = max(100, count // 2)
                before = reading(stack)
                ceiling = await trivial_rate(client, trivial_count)
                trivial_cpu = per_run(before, reading(stack), trivial_count)
            with Progress(console=console, transient=True) as progress:
                before = reading(stack)
                latencies, seconds, _ = await onboard_all(api, client, plan, accounts[:count], progress)
                cpu = per_run(before, reading(stack), count)
                alone, _, one = await onboard_all(api, client, plan, accounts[count:], progress, 1)
            shape = await history_shape(client, one)
        cuts = statistics.quantiles(latencies, n=20)
        rate = count / seconds
        return {
            "bench": "onboarding",
            "subscriptions": count,
            "seconds": round(seconds, 2),
            "onboardings_per_s": round(rate, 1),
            "p50_ms": round(statistics.median(latencies) * 1000),
            "p95_ms": round(cuts[18] * 1000),
            "trivial_workflows_per_s": round(ceiling, 1),
            "ratio_to_trivial": round(rate / ceiling, 2),
            "concurrency": CONCURRENCY,
            # the worker's and the API's CPU per onboarding of the concurrent run
            "worker_cpu_ms": cpu["worker"],
            "api_cpu_ms": cpu["api"],
            # every process's, per onboarding and per trivial workflow (whose worker is this process)
            "cpu_ms_per_onboarding": cpu,
            "cpu_ms_per_trivial": trivial_cpu,
            # the ratio the CPU alone allows, whatever the machine's speed in this run (it swings)
            "cpu_ratio_to_trivial": round(trivial_cpu["total"] / cpu["total"], 2),
            "p50_c1_ms": round(statistics.median(alone) * 1000),
            "p95_c1_ms": round(statistics.quantiles(alone, n=20)[18] * 1000),
            "c1_runs": singles,
            **shape,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        stack.stop()


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 500
    singles = int(argv[2]) if len(argv) > 2 else SINGLES
    figures = asyncio.run(run(count, Console(stderr=True), singles))
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv)

"""GET /metrics for Prometheus: the API's requests, and business figures read at scrape time.

* ``multibill_http_requests_total`` and ``multibill_http_request_duration_seconds`` by method, route
  template (``/v1/accounts/{account_id}``, never the raw path: one series per route, not per id; a path
  no route matches is ``unmatched``) and status. The ``RequestMetrics`` middleware counts them and writes
  the one access log line of each request (``multibill.access``), with the request's log context.
* Business figures, from PostgreSQL (every organisation's) and Temporal's visibility, cached for
  ``MULTIBILL_METRICS_CACHE_SECONDS`` and each fetched within ``MULTIBILL_METRICS_TIMEOUT_SECONDS``, so a
  slow database or Temporal never holds a scrape: a source that fails or is late is reported as
  ``multibill_metrics_source_up{source=...} 0`` and its series are left out of that answer.
  ``multibill_invoices_issued_total`` and ``multibill_invoiced_minor_units_total`` (by currency, in the
  currency's minor units) count what was ever issued (void and written-off invoices included: an issued
  invoice is never deleted, so they only grow); ``multibill_payments_failed_total`` likewise;
  ``multibill_dunning_cases`` (overdue invoices by the last dunning step taken, ``none`` before the first
  one), ``multibill_usage_suspense_events`` and ``multibill_processes_running`` (by workflow type) are
  gauges.
* The Python process's own collectors (``process_*``, ``python_*``).

Who may read it: the figures tell an operator's revenue, so ``MULTIBILL_METRICS_TOKEN`` protects the
page (``Authorization: Bearer <token>``; Prometheus sends it with ``authorization: {credentials: ...}``).
Without a token the page is open, like most exporters, for a scraper inside the cluster or a laptop:
keep /metrics off the public ingress then. It is not part of the OpenAPI contract (not an SDK call).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import workflow
from temporalio.client import Client

from api.deps import TemporalGateway
from api.errors import ApiError
from models.base import engine_for
from runtime.settings import Settings

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
CLIENT_CLOSED_REQUEST = 499
# Request durations: from a cached read (a few ms) to a route that waits for a short process (seconds).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
QUIET_PATHS = frozenset({METRICS_PATH, "/healthz"})  # scrapes and probes: access lines at DEBUG only

access_log = logging.getLogger("multibill.access")
logger = logging.getLogger("multibill.metrics")

router = APIRouter(tags=["metrics"])


# -- requests -------------------------------------------------------------------------------------------


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "multibill_http_requests", "HTTP requests answered", labels, registry=registry
        )
        self.duration = Histogram(
            "multibill_http_request_duration_seconds",
            "Time to answer an HTTP request, from its first byte in to its last byte out",
            labels,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route, str(status)).observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's template (FastAPI sets it in the shared scope), a mount's prefix with
    ``{path}`` (the portal's static files), or ``unmatched``."""
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    mounted = scope.get("root_path")
    return f"{mounted}/{{path}}" if mounted else UNMATCHED


class RequestMetrics:
    """Counts and times every request by route template and status; writes its access log line.

    Runs inside ``RequestContext`` (the request's log context is open: its id, and its organisation once
    the key is checked) and, when tracing is on, inside the request's server span (the trace id)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # No answer at all: 500 when the app raised (RequestContext answers it), else the client left
        # before one was sent (nginx's 499).
        status = 0

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        except BaseException:
            status = status or 500
            raise
        finally:
            status = status or CLIENT_CLOSED_REQUEST
            elapsed = time.perf_counter() - started
            method, route, path = str(scope.get("method", "")), route_template(scope), scope.get("path")
            self.metrics.observe(method, route, status, elapsed)
            access_log.log(
                logging.DEBUG if path in QUIET_PATHS else logging.INFO,
                "%s %s %s %.0f ms",
                method,
                path,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "path": path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )


# -- business figures -----------------------------------------------------------------------------------

_INVOICES = text(
    "select currency, count(*), coalesce(sum(total_minor), 0) from invoices "
    "where status <> 'draft' group by currency"
)
_PAYMENTS_FAILED = text("select count(*) from payments where status = 'failed'")
# Open dunning cases: overdue invoices, by the last ``dunning.step`` event recorded for each.
_DUNNING = text(
    "select coalesce(last_step.step, 'none'), count(*) from invoices i "
    "left join lateral (select e.data ->> 'step' as step from business_events e "
    "  where e.object_id = i.id and e.type = 'dunning.step' order by e.id desc limit 1) last_step on true "
    "where i.status = 'overdue' group by 1"
)
_SUSPENSE = text("select count(*) from usage_events where status = 'suspense'")


@dataclass
class DatabaseFigures:
    invoices: dict[str, tuple[int, int]] = field(default_factory=dict)  # currency: (count, minor units)
    payments_failed: int = 0
    dunning: dict[str, int] = field(default_factory=dict)
    suspense: int = 0


def read_database(database_url: str, timeout_seconds: float) -> DatabaseFigures:
    """Every figure in one read-only transaction, each query bounded by a statement timeout."""
    with engine_for(database_url).connect() as conn, conn.begin():
        conn.execute(text(f"set local statement_timeout = {max(1, int(timeout_seconds * 1000))}"))
        conn.execute(text("set transaction read only"))
        return DatabaseFigures(
            invoices={str(c): (int(n), int(total)) for c, n, total in conn.execute(_INVOICES)},
            payments_failed=int(conn.execute(_PAYMENTS_FAILED).scalar_one()),
            dunning={str(step): int(n) for step, n in conn.execute(_DUNNING)},
            suspense=int(conn.execute(_SUSPENSE).scalar_one()),
        )


def workflow_types() -> list[str]:
    """The type names of the workflows the worker runs."""
    from runtime.worker import WORKFLOWS

    names = (workflow._Definition.must_from_class(cls).name for cls in WORKFLOWS)
    return [name for name in names if name]  # a dynamic workflow has no name: none runs here


async def count_running(client: Client, types: Iterable[str]) -> dict[str, int]:
    """Running workflows per type. Temporal's visibility groups counts by ExecutionStatus only (not by
    WorkflowType), so each type is counted on its own, all at once."""
    names = list(types)
    counts = await asyncio.gather(
        *(
            client.count_workflows(f"WorkflowType = '{name}' AND ExecutionStatus = 'Running'")
            for name in names
        )
    )
    return {name: count.count for name, count in zip(names, counts, strict=True)}


@dataclass
class Snapshot:
    database: DatabaseFigures | None = None
    processes: dict[str, int] | None = None
    taken_at: float = float("-inf")


class BusinessFigures:
    """The figures of the last refresh, refreshed at most once per cache period by one scrape at a time."""

    def __init__(self, settings: Settings, gateway: TemporalGateway) -> None:
        self.settings = settings
        self.gateway = gateway
        self.snapshot = Snapshot()
        self._lock = asyncio.Lock()
        self._types: list[str] | None = None

    async def refresh(self) -> Snapshot:
        async with self._lock:
            if time.monotonic() - self.snapshot.taken_at < self.settings.metrics_cache_seconds:
                return self.snapshot
            database, processes = await asyncio.gather(self._database(), self._processes())
            self.snapshot = Snapshot(database, processes, time.monotonic())
            return self.snapshot

    async def _database(self) -> DatabaseFigures | None:
        url = self.settings.database_url
        if not url:
            return None
        timeout = self.settings.metrics_timeout_seconds
        try:
            return await asyncio.wait_for(run_in_threadpool(read_database, url, timeout), timeout + 1)
        except Exception as exc:
            # One line a scrape while the database is down; the traceback at DEBUG.
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logger.warning("metrics: the database figures could not be read (%s)", reason)
            logger.debug("metrics: the database figures could not be read", exc_info=True)
            return None

    async def _processes(self) -> dict[str, int] | None:
        if self._types is None:
            self._types = workflow_types()

        async def counts() -> dict[str, int]:
            client = await self.gateway.client()
            return await count_running(client, self._types or [])

        try:
            return await asyncio.wait_for(counts(), self.settings.metrics_timeout_seconds)
        except Exception as exc:
            logger.warning("metrics: Temporal did not count the running processes in time (%r)", exc)
            return None


class BusinessCollector(Collector):
    """Renders the figures' last snapshot (``BusinessFigures.refresh`` runs before each rendering)."""

    def __init__(self, figures: BusinessFigures) -> None:
        self.figures = figures

    def describe(self) -> Iterable[Metric]:
        return []  # the series depend on the data: not registered up front

    def collect(self) -> Iterator[Metric]:
        snapshot = self.figures.snapshot
        up = GaugeMetricFamily(
            "multibill_metrics_source_up",
            "Whether the last read of a source of business figures (database, temporal) succeeded",
            labels=["source"],
        )
        up.add_metric(["database"], 1 if snapshot.database is not None else 0)
        up.add_metric(["temporal"], 1 if snapshot.processes is not None else 0)
        yield up
        if snapshot.database is not None:
            yield from _database_metrics(snapshot.database)
        if snapshot.processes is not None:
            running = GaugeMetricFamily(
                "multibill_processes_running",
                "Running processes (workflows), by type",
                labels=["workflow_type"],
            )
            for name, count in sorted(snapshot.processes.items()):
                running.add_metric([name], count)
            yield running


def _database_metrics(figures: DatabaseFigures) -> Iterator[Metric]:
    issued = CounterMetricFamily(
        "multibill_invoices_issued",
        "Invoices ever issued (void ones included), by currency",
        labels=["currency"],
    )
    amount = CounterMetricFamily(
        "multibill_invoiced_minor_units",
        "Sum of the totals of the invoices ever issued, in the currency's minor units (cents)",
        labels=["currency"],
    )
    for currency, (count, total) in sorted(figures.invoices.items()):
        issued.add_metric([currency], count)
        amount.add_metric([currency], total)
    yield issued
    yield amount
    yield CounterMetricFamily(
        "multibill_payments_failed", "Payments that failed at the gateway", value=figures.payments_failed
    )
    dunning = GaugeMetricFamily(
        "multibill_dunning_cases",
        "Overdue invoices in dunning, by the last step taken (none: no step yet)",
        labels=["step"],
    )
    for step, count in sorted(figures.dunning.items()):
        dunning.add_metric([step], count)
    yield dunning
    yield GaugeMetricFamily(
        "multibill_usage_suspense_events", "Usage events in the suspense queue", value=figures.suspense
    )


# -- the page -------------------------------------------------------------------------------------------


class ApiMetrics:
    """The API's registry: request metrics, business figures, the process's own collectors."""

    def __init__(self, settings: Settings, gateway: TemporalGateway) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(self.registry)
        self.figures = BusinessFigures(settings, gateway)
        self.registry.register(BusinessCollector(self.figures))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    async def render(self) -> bytes:
        await self.figures.refresh()
        return generate_latest(self.registry)


def _check_token(request: Request, token: str | None) -> None:
    if not token:
        return
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credentials.strip().encode(), token.encode()):
        raise ApiError(
            401, "unauthenticated", "GET /metrics needs `Authorization: Bearer <MULTIBILL_METRICS_TOKEN>`"
        )


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    api_metrics: ApiMetrics = request.app.state.metrics
    _check_token(request, api_metrics.settings.metrics_token)
    return Response(await api_metrics.render(), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, settings: Settings) -> ApiMetrics:
    """GET /metrics and the request-counting middleware (add after the other middleware: it runs outside
    them, so the requests they refuse are counted too)."""
    api_metrics = ApiMetrics(settings, app.state.temporal)
    app.state.metrics = api_metrics
    app.add_middleware(RequestMetrics, metrics=api_metrics.http)
    app.include_router(router)
    return api_metrics


__all__ = ["ApiMetrics", "RequestMetrics", "install_metrics", "route_template"]

"""One trace from an HTTP request through the workflow it starts into its activities and their SQL, on the
Temporal dev server, with the wiring of runtime/telemetry.py and an in-memory exporter; and tracing stays
off unless the standard OTEL_* variables ask for it."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.base import engine_for
from runtime import telemetry
from runtime.logs import configure_logging
from runtime.settings import Settings
from runtime.temporal import connect
from runtime.worker import build_worker
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator


@pytest.fixture
def exporter(database_url: str) -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test: every span in memory; the test database's engine traced."""
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry.configure_tracing("multibill-test", provider=provider)
    telemetry.instrument_engine(engine_for(database_url))
    try:
        yield spans
    finally:
        telemetry.uninstrument_engines()
        telemetry.reset_tracing()
        provider.shutdown()


def names(spans: list[ReadableSpan]) -> list[str]:
    return sorted(span.name for span in spans)


@pytest.fixture
def json_logs(settings: Settings) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging(settings.model_copy(update={"log_format": "json"}), stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_one_trace_runs_from_the_request_into_the_activities_and_the_database(
    exporter: InMemorySpanExporter,
    json_logs: io.StringIO,
    settings: Settings,
    dev_env: WorkflowEnvironment,
    database_url: str,
) -> None:
    test_settings = settings.model_copy(
        update={
            "temporal_address": dev_env.client.service_client.config.target_host,
            "task_queue": f"traced-{uuid.uuid4().hex[:8]}",
        }
    )
    client = await connect(test_settings, interceptors=telemetry.client_interceptors())
    app = create_app(test_settings, temporal_client=client)
    tenant = make_operator(database_url)
    async with (
        build_worker(client, test_settings),  # the client's tracing interceptor applies to its workers
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api,
    ):
        started = await api.post(
            "/v1/billing-runs",
            headers=tenant.post_headers(),
            json={"bill_day": 1, "period_date": "2026-04-01"},
        )
        assert started.status_code == 202, started.text
        process_id = started.json()["process_id"]
        await client.get_workflow_handle(process_id).result()

    http = [s for s in exporter.get_finished_spans() if s.name == "POST /v1/billing-runs"]
    assert len(http) == 1 and http[0].kind == SpanKind.SERVER, names(exporter.get_finished_spans())
    trace_id = http[0].context.trace_id

    def in_trace() -> list[ReadableSpan]:
        return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]

    async def trace_spans() -> list[ReadableSpan]:
        return in_trace()

    def complete(spans: list[ReadableSpan]) -> bool:
        found = names(spans)
        return all(
            any(name.startswith(prefix) for name in found)
            for prefix in ("StartWorkflow:BillingCycle", "RunWorkflow:BillingCycle", "RunActivity:")
        )

    spans = await eventually_async(trace_spans, until=complete, timeout=10, what="the workflow's spans")
    by_id = {s.context.span_id: s for s in spans}

    def ancestors(span: ReadableSpan) -> list[str]:
        """Parent first, root last."""
        chain = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            chain.append(span.name)
        return chain

    start = next(s for s in spans if s.name == "StartWorkflow:BillingCycle")
    assert ancestors(start)[-1] == "POST /v1/billing-runs"
    run = next(s for s in spans if s.name == "RunWorkflow:BillingCycle")
    assert ancestors(run) == ["StartWorkflow:BillingCycle", "POST /v1/billing-runs"]
    # temporalio parents a workflow's StartActivity on the span that started the workflow.
    activity = next(s for s in spans if s.name.startswith("RunActivity:"))
    assert ancestors(activity)[0].startswith("StartActivity:")
    assert ancestors(activity)[-2:] == ["StartWorkflow:BillingCycle", "POST /v1/billing-runs"]
    # The SQL of an activity, in the same trace, under its RunActivity span.
    database = [
        s for s in spans if s.kind == SpanKind.CLIENT and s.attributes and "db.system" in str(s.attributes)
    ]
    assert database, names(spans)
    assert any(any(a.startswith("RunActivity:") for a in ancestors(s)) for s in database), [
        (s.name, ancestors(s)) for s in database
    ]
    # The request's log line names the process it started, in the same trace.
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.startswith("{")]
    (access,) = [line for line in lines if line.get("route") == "/v1/billing-runs"]
    assert access["workflow_id"] == process_id and access["organisation_id"] == tenant.organisation_id
    assert access["trace_id"] == format(trace_id, "032x")
    # The API's own statements (the run's idempotent write) are in it too, outside any workflow.
    assert [s for s in database if not any(a.startswith("RunWorkflow:") for a in ancestors(s))]


def test_tracing_is_off_unless_otel_variables_ask_for_it() -> None:
    assert not telemetry.tracing_requested({})
    assert not telemetry.tracing_requested({"OTEL_SERVICE_NAME": "multibill"})
    assert telemetry.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert telemetry.tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not telemetry.tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert not telemetry.tracing_requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert telemetry.configure_tracing("multibill-test", environ={}) is None
    assert telemetry.client_interceptors() == []
    with pytest.raises(RuntimeError, match="OTEL_TRACES_EXPORTER"):
        telemetry.configure_tracing("multibill-test", environ={"OTEL_TRACES_EXPORTER": "zipkin"})

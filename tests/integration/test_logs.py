"""Structured logs (runtime/logs.py): a request's JSON line carries its request id, the caller's organisation
and the trace id; records logged in an activity or by the workflow logger carry the workflow id; the
console format is for people."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from api.app import create_app
from api.deps import PrincipalDep
from runtime import telemetry
from runtime.logs import configure_logging
from runtime.settings import Settings
from tests.support.billing_factory import make_account
from tests.support.factories import make_operator


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def json_logs(settings: Settings) -> Iterator[Captured]:
    """The process's logging configured as `multibill api` does, into a buffer; put back afterwards."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    handler = configure_logging(settings.model_copy(update={"log_format": "json"}), stream=stream)
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.configure_tracing("multibill-test", provider=provider)
    try:
        yield exporter
    finally:
        telemetry.reset_tracing()
        provider.shutdown()


async def test_a_request_line_carries_the_request_id_organisation_and_trace_id(
    json_logs: Captured, spans: InMemorySpanExporter, settings: Settings, database_url: str
) -> None:
    tenant = make_operator(database_url)
    account_id = make_account(database_url, tenant.organisation_id)
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        answer = await api.get(
            f"/v1/accounts/{account_id}", headers={**tenant.auth, "X-Request-Id": "req-logs-test-1"}
        )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "req-logs-test-1"

    (server_span,) = [s for s in spans.get_finished_spans() if s.name == "GET /v1/accounts/{account_id}"]
    lines = [line for line in json_logs.lines() if line.get("request_id") == "req-logs-test-1"]
    (access,) = [line for line in lines if line["logger"] == "multibill.access"]
    assert access["organisation_id"] == tenant.organisation_id
    assert access["trace_id"] == format(server_span.context.trace_id, "032x")
    assert access["route"] == "/v1/accounts/{account_id}" and access["status"] == 200
    assert access["level"] == "info" and access["timestamp"].endswith("Z")
    assert access["event"].startswith(f"GET /v1/accounts/{account_id} 200")


async def test_a_request_without_a_key_has_no_organisation(json_logs: Captured, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        answer = await api.get("/v1/accounts", headers={"X-Request-Id": "req-logs-test-2"})
    assert answer.status_code == 401
    (access,) = [line for line in json_logs.lines() if line.get("request_id") == "req-logs-test-2"]
    assert "organisation_id" not in access and "trace_id" not in access  # tracing is off here
    assert access["status"] == 401


async def test_an_unexpected_error_is_logged_with_the_request_and_organisation(
    json_logs: Captured, settings: Settings, database_url: str
) -> None:
    tenant = make_operator(database_url)
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))

    def boom(principal: PrincipalDep) -> None:
        raise RuntimeError("a bug in a route")

    app.add_api_route("/test/boom", boom)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        answer = await api.get("/test/boom", headers={**tenant.auth, "X-Request-Id": "req-logs-test-3"})
    assert answer.status_code == 500
    lines = [line for line in json_logs.lines() if line.get("request_id") == "req-logs-test-3"]
    (error,) = [line for line in lines if line["level"] == "error"]
    assert error["organisation_id"] == tenant.organisation_id
    assert "RuntimeError: a bug in a route" in error["exception"]
    (access,) = [line for line in lines if line["logger"] == "multibill.access"]
    assert access["status"] == 500 and access["organisation_id"] == tenant.organisation_id


def test_activity_and_workflow_records_carry_the_workflow_id(json_logs: Captured) -> None:
    @activity.defn
    def noisy() -> None:
        logging.getLogger("multibill.activities.test").info("plain logger in an activity")
        activity.logger.info("temporal's activity logger")

    ActivityEnvironment().run(noisy)
    # temporalio's workflow logger hands its details over in `extra` (it is silent on replay).
    logging.getLogger("temporalio.workflow").info(
        "a workflow step", extra={"temporal_workflow": {"workflow_id": "wf-1", "run_id": "run-1"}}
    )
    lines = {line["event"]: line for line in json_logs.lines()}
    for message in ("plain logger in an activity", "temporal's activity logger"):
        line = lines[message]  # JSON keeps the details as fields, not in the message
        assert line["workflow_id"] == "test" and line["activity_type"] == "unknown", line
        assert "temporal_activity" not in line
    assert lines["a workflow step"]["workflow_id"] == "wf-1"
    assert lines["a workflow step"]["run_id"] == "run-1"
    assert "temporal_workflow" not in lines["a workflow step"]


def test_the_console_format_is_for_people(settings: Settings) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(settings.model_copy(update={"log_format": "console"}), stream=stream)
    try:
        logging.getLogger("multibill.test").warning("disk %s is full", "/var")
        line = stream.getvalue().strip()
        database_url = "postgresql://billing:hunter2@db/multibill"
        try:
            raise RuntimeError(f"cannot reach {database_url.split('@')[1]}")
        except RuntimeError:
            logging.getLogger("multibill.test").exception("the database is down")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert "disk /var is full" in line and "warning" in line and "multibill.test" in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
    # A traceback is printed plainly: frames and the error, never the frames' local variables.
    traceback = stream.getvalue()[len(line) :]
    assert (
        "Traceback (most recent call last)" in traceback
        and "RuntimeError: cannot reach db/multibill" in traceback
    )
    assert "hunter2" not in traceback


def test_the_log_format_setting_is_checked() -> None:
    with pytest.raises(ValidationError, match="log_format"):
        Settings(log_format="yaml")  # type: ignore[arg-type]

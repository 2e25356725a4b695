"""GET /metrics: requests by route template and status, business figures read from PostgreSQL and Temporal
at scrape time (never held up by a Temporal that does not answer), the optional token; and the worker's
Temporal SDK metrics served by its runtime."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message
from temporalio.testing import WorkflowEnvironment

from activities.dunning.records import record_step
from api.app import create_app
from domain.ids import new_id
from models.base import unit_of_work
from models.payments import Payment
from models.usage import UsageEvent
from runtime import telemetry
from runtime.settings import Settings
from runtime.temporal import connect
from runtime.worker import build_worker
from tests.support.billing_factory import MIXED_LINES, make_account, make_invoice
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.ports import free_port
from tests.workflows._verification import make_account as make_pending_account
from tests.workflows._verification import verification_input
from workflows.account_verification import AccountVerificationWorkflow

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(body: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def silent_temporal() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a Temporal that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def metrics_settings(settings: Settings, **more: object) -> Settings:
    return settings.model_copy(update={"metrics_cache_seconds": 0, "metrics_timeout_seconds": 0.5, **more})


@pytest.fixture
async def api(settings: Settings, silent_temporal: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(metrics_settings(settings, temporal_address=silent_temporal))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def scrape(api: httpx.AsyncClient, **headers: str) -> Samples:
    answer = await api.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return parse(answer.text)


async def test_requests_are_counted_by_route_template_and_status(
    api: httpx.AsyncClient, database_url: str
) -> None:
    tenant = make_operator(database_url)
    account_id = make_account(database_url, tenant.organisation_id)
    assert (await api.get(f"/v1/accounts/{account_id}", headers=tenant.auth)).status_code == 200
    assert (await api.get(f"/v1/accounts/{account_id}", headers=tenant.auth)).status_code == 200
    assert (await api.get("/v1/accounts/acc_missing", headers=tenant.auth)).status_code == 404
    assert (await api.get(f"/no/such/{uuid.uuid4().hex}")).status_code == 404

    started = time.monotonic()
    samples = await scrape(api)
    assert time.monotonic() - started < 5, "a Temporal that does not answer held the scrape"

    route = "/v1/accounts/{account_id}"
    ok = {"method": "GET", "route": route, "status": "200"}
    assert value(samples, "multibill_http_requests_total", **ok) == 2
    assert value(samples, "multibill_http_requests_total", method="GET", route=route, status="404") == 1
    assert value(samples, "multibill_http_request_duration_seconds_count", **ok) == 2
    assert value(samples, "multibill_http_request_duration_seconds_bucket", **ok, le="+Inf") == 2
    assert value(samples, "multibill_http_requests_total", method="GET", route="unmatched", status="404") == 1
    # The raw path (an id) never becomes a label: one series per route, not per account.
    assert not any(account_id in str(labels) for _, labels in samples)
    # Temporal did not answer in time: reported, and its series left out; the database was read.
    assert value(samples, "multibill_metrics_source_up", source="temporal") == 0
    assert value(samples, "multibill_metrics_source_up", source="database") == 1
    assert not any(name == "multibill_processes_running" for name, _ in samples)


async def test_a_client_that_leaves_before_the_answer_is_a_499(
    settings: Settings, silent_temporal: str
) -> None:
    app = create_app(metrics_settings(settings, temporal_address=silent_temporal))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}  # gone while the body was being read

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/accounts",
        "raw_path": b"/v1/accounts",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", b"10")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    await app(scope, receive, send)
    assert sent == []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        samples = await scrape(api)
    assert (
        value(samples, "multibill_http_requests_total", method="POST", route="unmatched", status="499") == 1
    )


async def test_business_figures_follow_the_database(api: httpx.AsyncClient, database_url: str) -> None:
    before = await scrape(api)
    tenant = make_operator(database_url)
    account_id = make_account(database_url, tenant.organisation_id)
    make_invoice(database_url, account_id, MIXED_LINES)  # total 6484 (see billing_factory)
    make_invoice(database_url, account_id, MIXED_LINES, status="draft")  # not issued: not counted
    overdue = [make_invoice(database_url, account_id, MIXED_LINES, status="overdue") for _ in range(2)]
    with unit_of_work(database_url) as session:
        record_step(session, overdue[0], "reminder", f"test:{overdue[0]}:reminder")
        session.add(
            Payment(
                id=new_id("pay"),
                organisation_id=tenant.organisation_id,
                account_id=account_id,
                kind="card",
                amount_minor=6484,
                currency="EUR",
                status="failed",
                gateway="stripe",
                idempotency_key=f"test-{uuid.uuid4().hex}",
            )
        )
        session.add(
            UsageEvent(
                organisation_id=tenant.organisation_id,
                client_event_id=uuid.uuid4().hex,
                subscriber="sub_unknown",
                event_type="voice",
                metric="voice_seconds",
                quantity=60,
                started_at=datetime(2026, 3, 2, 10, tzinfo=UTC),
                status="suspense",
                reason="unknown_subscriber",
            )
        )

    after = await scrape(api)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("multibill_invoices_issued_total", currency="EUR") == 3
    assert delta("multibill_invoiced_minor_units_total", currency="EUR") == 3 * 6484
    assert delta("multibill_payments_failed_total") == 1
    assert delta("multibill_dunning_cases", step="reminder") == 1
    assert delta("multibill_dunning_cases", step="none") == 1
    assert delta("multibill_usage_suspense_events") == 1


async def test_a_token_protects_the_page_when_set(settings: Settings, silent_temporal: str) -> None:
    app = create_app(metrics_settings(settings, temporal_address=silent_temporal, metrics_token="s3cret"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api:
        refused = await api.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthenticated"
        assert (await api.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        samples = await scrape(api, Authorization="Bearer s3cret")
    assert value(samples, "multibill_http_requests_total", method="GET", route="/metrics", status="401") == 2


async def test_running_processes_per_type_come_from_temporal(
    settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    """A verification nobody works on is running: counted under its type, as Temporal's visibility has it."""
    app = create_app(metrics_settings(settings, metrics_timeout_seconds=5), temporal_client=dev_env.client)
    account = make_pending_account(settings.database_url or "")
    handle = await dev_env.client.start_workflow(
        AccountVerificationWorkflow.run,
        verification_input(account),
        id=f"metrics-test-{uuid.uuid4().hex}",
        task_queue=f"nobody-{uuid.uuid4().hex}",
    )
    query = "WorkflowType = 'AccountVerification' AND ExecutionStatus = 'Running'"
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as api:

            async def both() -> tuple[Samples, int]:
                return await scrape(api), (await dev_env.client.count_workflows(query)).count

            samples, _ = await eventually_async(
                both,
                until=lambda got: (
                    got[1] >= 1
                    and value(got[0], "multibill_processes_running", workflow_type="AccountVerification")
                    == got[1]
                ),
                what="the running verification counted",
            )
    finally:
        await handle.terminate("test over")
    assert value(samples, "multibill_metrics_source_up", source="temporal") == 1
    # Every type the worker runs has its series, running or not.
    assert value(samples, "multibill_processes_running", workflow_type="BillingCycle") >= 0
    assert ("multibill_processes_running", frozenset({("workflow_type", "Dunning")})) in samples


async def test_the_worker_serves_temporal_sdk_metrics(
    settings: Settings, dev_env: WorkflowEnvironment
) -> None:
    address = f"127.0.0.1:{free_port()}"
    worker_settings = settings.model_copy(
        update={
            "temporal_address": dev_env.client.service_client.config.target_host,
            "task_queue": f"metrics-{uuid.uuid4().hex[:8]}",
            "worker_metrics_address": address,
        }
    )
    client = await connect(worker_settings, runtime=telemetry.worker_runtime(worker_settings))
    async with build_worker(client, worker_settings), httpx.AsyncClient() as http:

        async def page() -> str:
            return (await http.get(f"http://{address}/metrics")).text

        body = await eventually_async(
            page, until=lambda text: "temporal_" in text, retry_on=(httpx.HTTPError,)
        )
    names = {family.name for family in text_string_to_metric_families(body)}
    assert any(name.startswith("temporal_") for name in names), sorted(names)
    # Prometheus conventions: counters end in _total, durations are in seconds.
    assert "temporal_request" in names, sorted(names)  # a counter family: samples temporal_request_total
    assert any(name.endswith("_seconds") for name in names), sorted(names)


def test_the_worker_runtime_is_off_when_the_address_is_empty(settings: Settings) -> None:
    assert telemetry.worker_runtime(settings) is None
    with pytest.raises(RuntimeError, match="MULTIBILL_WORKER_METRICS_ADDRESS"):
        telemetry.worker_runtime(settings.model_copy(update={"worker_metrics_address": "9464"}))

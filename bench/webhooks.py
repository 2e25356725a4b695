"""Webhook deliveries per second to a local receiver, through the real WebhookRelay and WebhookDelivery
processes on a Temporal dev server.

``deliveries(admin_url, count)``: a fresh database with one operator and one endpoint at an HTTP receiver
on loopback (a threaded server that checks every signature); ``count`` ``invoice.issued`` events of
distinct invoices are written after the endpoint exists; the relay (default settings: a round every
``RelayInput.interval_s`` seconds, up to ``DUE_PAGE`` objects started a round) fans them out and each
object's WebhookDelivery POSTs its event. Timed from the relay's start to the receiver holding every event
once. The physical limit beside it: the same number of signed POSTs sent straight from this process with
the same HTTP client call (``sending.post``), one after another (the "raw" rate of the receiver and the
client), so the relay's own cost shows.

Run: ``python -m bench.webhooks [COUNT]`` (default 2000).

Found (2026-11-30, 2 cores): the first design, a WebhookDelivery workflow per (endpoint, object) with three
activities a delivery and ``httpx.post`` building a client (and TLS context) per call, delivered 2.8-6 a
second; ``httpx.post`` alone managed ~10 POSTs/s from one thread against ~300/s on a shared client. With the
shared client and one WebhookSender per endpoint sending batches of 200, 16 at a time: 205/s for 2,000 and
179/s for 10,000 (the relay's first 5 s pause included), 0.14 of one client posting straight to the
receiver. What is left is the relay's pause and a workflow task per batch; the receiver's speed bounds it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.events.outbox import record_many
from activities.webhooks import sending
from activities.webhooks.activities import WebhookActivities
from activities.webhooks.io import RelayInput
from domain import process_ids, webhooks
from domain.events import BusinessEvent
from domain.ids import new_id
from models.base import unit_of_work
from models.migrate import upgrade
from models.webhooks import WebhookEndpoint
from runtime.settings import Settings
from runtime.temporal import SEARCH_ATTRIBUTES, find_binary
from runtime.worker import ACTIVITY_THREADS
from workflows.webhooks import WebhookDeliveryWorkflow, WebhookRelayWorkflow, WebhookSenderWorkflow

ORG = "org_BENCHWEBHOOKS000000000000"
SECRET = "whsec_" + "5e" * 32


class Receiver(ThreadingHTTPServer):
    """Counts the distinct events it received with a valid signature (and the bad ones)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.events: set[str] = set()
        self.bad = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        good = webhooks.verify(SECRET, self.headers.get(webhooks.SIGNATURE_HEADER) or "", body)
        with self.server.lock:
            if good:
                self.server.events.add(self.headers.get("Multibill-Event-Id") or "")
            else:
                self.server.bad += 1
        self.send_response(200 if good else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


def _prepare(admin_url: str, receiver_url: str, count: int, data_key: str) -> str:
    name = f"bench_webhooks_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"create database {name}"))
    admin.dispose()
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    endpoint_id = new_id("whe")
    with unit_of_work(url) as session:
        session.execute(
            sa.text(
                "insert into organisations (id, kind, name, path, rounding_mode, created_at) "
                "values (:o, 'operator', 'Bench', :p, 'half_up', now() - interval '1 minute')"
            ),
            {"o": ORG, "p": f"/{ORG}/"},
        )
        session.add(
            WebhookEndpoint(
                id=endpoint_id,
                organisation_id=ORG,
                url=receiver_url,
                event_types=[],
                enabled=True,
                secret_sealed=webhooks.secret_vault(data_key).seal(SECRET, endpoint_id),
            )
        )
    time.sleep(0.01)  # events strictly after the endpoint's creation
    for page in range(0, count, 1000):
        batch = [
            BusinessEvent("invoice.issued", ORG, "invoice", f"inv_{i:026d}", {"id": f"inv_{i:026d}", "n": i})
            for i in range(page, min(page + 1000, count))
        ]
        with unit_of_work(url) as session:
            record_many(session, batch)
    return url


async def _relay(url: str, receiver: Receiver, count: int, console: Console) -> float:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
    )
    settings = Settings(database_url=url, temporal_address="unused", environment="test")
    queue = f"bench-webhooks-{uuid.uuid4().hex[:6]}"
    try:
        with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
            async with Worker(
                env.client,
                task_queue=queue,
                workflows=[WebhookRelayWorkflow, WebhookDeliveryWorkflow, WebhookSenderWorkflow],
                activities=WebhookActivities(settings).all(),
                activity_executor=pool,
                max_concurrent_activities=ACTIVITY_THREADS,
            ):
                started = time.perf_counter()
                await env.client.start_workflow(
                    WebhookRelayWorkflow.run, RelayInput(), id=process_ids.WEBHOOK_RELAY, task_queue=queue
                )
                with console.status(f"delivering {count} events") as status:
                    while len(receiver.events) < count:
                        if time.perf_counter() - started > 1800:
                            raise RuntimeError(f"only {len(receiver.events)} of {count} delivered in 30 min")
                        status.update(f"delivering: {len(receiver.events)}/{count}")
                        await asyncio.sleep(0.05)
                return time.perf_counter() - started
    finally:
        await env.shutdown()


def _raw(receiver_url: str, count: int) -> float:
    body = sending.body_of({"id": "evt_raw", "type": "invoice.issued", "data": {"n": 1}})
    started = time.perf_counter()
    for i in range(count):
        sending.post(receiver_url, SECRET, f"evt_raw_{i}", body)
    return time.perf_counter() - started


def deliveries(admin_url: str, count: int, console: Console) -> dict[str, Any]:
    """The figures of one delivery run of ``count`` events (see the module's docstring)."""
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        data_key = Settings(environment="test").data_key
        with console.status(f"writing {count} events"):
            url = _prepare(admin_url, receiver.url, count, data_key)
        took = asyncio.run(_relay(url, receiver, count, console))
        assert len(receiver.events) == count, "every event delivered once"
        assert receiver.bad == 0, f"{receiver.bad} deliveries with a bad signature"
        raw_count = min(count, 1000)
        raw = _raw(receiver.url, raw_count)
    finally:
        receiver.shutdown()
        receiver.server_close()
    rate, raw_rate = count / took, raw_count / raw
    console.print(
        f"{count} webhook deliveries in {took:.1f} s: {rate:.0f}/s through the relay; "
        f"one client posting straight to the same receiver: {raw_rate:.0f}/s"
    )
    return {
        "deliveries": count,
        "delivery_seconds": round(took, 2),
        "deliveries_per_s": round(rate, 1),
        "raw_posts_per_s": round(raw_rate, 1),
        "of_raw": round(rate / raw_rate, 3),
        "relay_interval_s": RelayInput().interval_s,
    }


def main(argv: list[str]) -> None:
    from runtime.servers import embedded_server
    from runtime.settings import normalise_database_url

    count = int(argv[1]) if len(argv) > 1 else 2000
    console = Console(stderr=True)
    home = Path(tempfile.mkdtemp(prefix="multibill-bench-webhooks-"))
    server = embedded_server(home / "pg", cleanup_mode="delete")
    try:
        figures = deliveries(normalise_database_url(server.get_uri()), count, console)
        print(json.dumps({"bench": "webhooks", **figures}))
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)

"""The contract drives a real client: openapi-python-client generates an SDK from the served /openapi.json
(offline, into a temporary directory), and that SDK alone runs one whole flow against a live API and
worker: catalogue → account → subscription → bill run → invoice → cash payment → invoice paid."""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.settings import Settings
from tests.support.eventually import eventually
from tests.support.factories import Tenant, make_operator, person
from tests.support.live_api import serve
from tests.support.worker_process import worker_process

PACKAGE = "multibill_sdk"
# Files (PDF, XML, CSV) are bytes to the generator: it knows only JSON, text/* and octet-stream by name.
# The override is the generator's reading of the contract; the requests still say their real media type.
GENERATOR_CONFIG = """\
package_name_override: multibill_sdk
post_hooks: []
content_type_overrides:
  application/pdf: application/octet-stream
  application/xml: application/octet-stream
  text/csv: application/octet-stream
"""


def generate_sdk(spec: bytes, into: Path) -> str:
    """Generate the client package from ``spec`` under ``into``; returns the generator's output."""
    (into / "openapi.json").write_bytes(spec)
    (into / "config.yaml").write_text(GENERATOR_CONFIG)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(into / "openapi.json"),
            "--config",
            str(into / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(into / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


class Sdk:
    """The generated package, imported: ``sdk.call("accounts", "accounts_create", ...)``."""

    def __init__(self, root: Path) -> None:
        sys.path.insert(0, str(root))
        self.package = importlib.import_module(PACKAGE)
        self.models: ModuleType = importlib.import_module(f"{PACKAGE}.models")

    def operation(self, tag: str, operation_id: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation_id}")

    def call(self, tag: str, operation_id: str, **kwargs: Any) -> Any:
        """Call the operation; returns its parsed response, which must be the success model."""
        response = self.operation(tag, operation_id).sync_detailed(**kwargs)
        assert 200 <= response.status_code < 300, (operation_id, response.status_code, response.content)
        assert not isinstance(response.parsed, self.models.Problem), response.parsed
        assert response.parsed is not None, (operation_id, response.content)
        return response.parsed

    def write(self, tag: str, operation_id: str, **kwargs: Any) -> Any:
        return self.call(tag, operation_id, idempotency_key=uuid.uuid4().hex, **kwargs)

    def unload(self) -> None:
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def live(
    settings: Settings, dev_env: WorkflowEnvironment, tmp_path: Path
) -> Iterator[tuple[str, Tenant, Sdk]]:
    """A served API and a worker process on their own task queue, an operator, and the SDK generated
    from the contract that API serves."""
    temporal = dev_env.client.service_client.config.target_host
    queue = f"sdk-{uuid.uuid4().hex[:8]}"
    app_settings = settings.model_copy(update={"temporal_address": temporal, "task_queue": queue})
    operator = make_operator(settings.database_url or "", name="SDK Operator")
    with (
        worker_process(app_settings, temporal, queue, tmp_path / "worker.log"),
        serve(create_app(app_settings)) as base_url,
    ):
        spec = httpx.get(f"{base_url}/openapi.json", timeout=30)
        assert spec.status_code == 200
        output = generate_sdk(spec.content, tmp_path)
        assert "Warning" not in output and "Unable" not in output, output
        sdk = Sdk(tmp_path)
        try:
            yield base_url, operator, sdk
        finally:
            sys.path.remove(str(tmp_path))
            sdk.unload()


def wait_process(sdk: Sdk, client: Any, process_id: str) -> Any:
    """The process, read through the SDK until it completed."""
    return eventually(
        lambda: sdk.call("processes", "processes_get_process", process_id=process_id, client=client),
        until=lambda process: process.status == "completed",
        timeout=60,
        what=f"process {process_id} completed",
    )


def test_a_generated_client_runs_account_to_paid_invoice(live: tuple[str, Tenant, Sdk]) -> None:
    base_url, operator, sdk = live
    m = sdk.models
    client = sdk.package.AuthenticatedClient(base_url=base_url, token=operator.token, timeout=30.0)
    suffix = uuid.uuid4().hex[:8]

    product = sdk.write(
        "catalogue",
        "catalog_add_product",
        client=client,
        body=m.ProductSpec(code=f"net-{suffix}", name="Fibre", kind=m.ProductKind.BROADBAND),
    )
    plan = sdk.write(
        "catalogue",
        "catalog_add_plan",
        client=client,
        body=m.PlanCreate.from_dict(
            {
                "code": f"plan-{suffix}",
                "name": "Fibre 600",
                "product_code": product.code,
                "effective_from": "2000-01-01",
                "phases": [{"kind": "evergreen", "prices": {"EUR": "31.00"}}],
            }
        ),
    )
    assert isinstance(plan, m.PlanOut) and plan.code == f"plan-{suffix}"

    account = sdk.write(
        "accounts", "accounts_create", client=client, body=m.AccountCreate.from_dict(person())
    )
    assert isinstance(account, m.AccountCreated)
    fetched = sdk.call("accounts", "accounts_get", account_id=account.id, client=client)
    assert fetched.id == account.id and fetched.currency == "EUR"
    missing = sdk.operation("accounts", "accounts_get").sync_detailed(account_id="acc_nope", client=client)
    assert missing.status_code == 404 and isinstance(missing.parsed, m.Problem)  # errors are typed too
    assert missing.parsed.code == "account_not_found" and missing.parsed.request_id

    order = m.SubscriptionOrder.from_dict(
        {
            "account_id": account.id,
            "items": [{"plan": plan.code}],
            "start_date": "2025-01-01",
            "bill_day": 1,
        }
    )
    started = sdk.write("subscriptions", "subscriptions_create", client=client, body=order)
    assert isinstance(started, m.OnboardingStarted)
    wait_process(sdk, client, started.process_id)
    subscription = sdk.call(
        "subscriptions", "subscriptions_get", client=client, subscription_id=started.subscription_id
    )
    assert subscription.account_id == account.id

    run = sdk.write(
        "billing",
        "billing_runs_start_run",
        client=client,
        body=m.BillingRunCreate.from_dict({"bill_day": 1, "period_date": "2025-01-01"}),
    )
    wait_process(sdk, client, run.process_id)
    finished = sdk.call("billing", "billing_runs_get_run", client=client, run_id=run.id)
    assert finished.status == "completed", finished

    page = sdk.call("invoices", "invoices_list", client=client, account_id=account.id)
    assert isinstance(page, m.PageInvoiceSummary) and page.data, page
    summary = page.data[0]
    invoice = sdk.call("invoices", "invoices_get", client=client, invoice_id=summary.id)
    assert isinstance(invoice, m.InvoiceOut)
    assert invoice.total_minor > 0 and invoice.amount_due_minor == invoice.total_minor
    assert sum(line.amount_minor for line in invoice.lines) == invoice.net_minor
    pdf = sdk.call("invoices", "invoices_get_pdf", client=client, invoice_id=invoice.id)
    assert pdf.payload.read().startswith(b"%PDF")

    payment = sdk.write(
        "payments",
        "payments_record",
        client=client,
        body=m.PaymentCreate(
            account_id=account.id,
            amount_minor=invoice.amount_due_minor,
            currency=invoice.currency,
            method=m.PaymentCreateMethod.CASH,
        ),
    )
    assert isinstance(payment, m.PaymentOut) and payment.amount_minor == invoice.total_minor
    paid = sdk.call("invoices", "invoices_get", client=client, invoice_id=invoice.id)
    assert (paid.status, paid.paid_minor, paid.amount_due_minor) == ("paid", invoice.total_minor, 0)

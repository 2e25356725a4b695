"""Business events through real flows: recorded once in the transaction of their change, listed at
``GET /v1/events`` within the caller's subtree, with filters and a cursor; unknown types are a 422."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from temporalio.client import ScheduleActionStartWorkflow

from activities.accounts.io import RecordVerificationOutcome
from activities.accounts.verification import record_outcome
from activities.dunning.records import record_step, write_off
from activities.events.io import EventsPruned
from activities.provisioning.io import OrderInput
from activities.provisioning.orders import finish_order, record_order
from activities.wallets.balances import Movement, move, wallet_for
from domain.provisioning import ProvisioningAction
from domain.wallets import service_debit_entry, top_up_entry
from models.accounts import Account
from models.base import engine_for, unit_of_work
from runtime.schedules import RETENTION_HOUR_UTC, ensure_retention_schedule
from runtime.settings import Settings
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.billing_runs import action, bill, subscribe
from tests.support.catalog_factory import plan
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_child, make_operator, person
from tests.support.provisioning_factory import line, make_subscription
from tests.support.subscription_support import Stack

TODAY = date(2026, 3, 1)
FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1210 with IVA


async def listed(api: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    """Every event the tenant sees with ``params``, following the cursor (pages of 2 to walk it)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = await api.get("/v1/events", headers=tenant.auth, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out += body["data"]
        cursor = body["next_cursor"]
        assert body["has_more"] is (cursor is not None)
        if cursor is None:
            return out


def stored(database_url: str, object_id: str) -> list[tuple[str, dict[str, Any]]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text("select type, data from business_events where object_id = :o order by id"),
            {"o": object_id},
        ).all()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.calendar
async def test_a_subscription_lifecycle_and_its_bill_runs_record_each_event_once(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    code = await plan(stack.api, tenant, prices={"EUR": "31.00"})
    sub = await subscribe(stack, tenant, code, "2025-01-01", 1)
    run = await bill(stack, tenant, 1, "2025-01-01")
    again = await bill(stack, tenant, 1, "2025-01-01")
    assert again["counts"]["invoices"] == 0
    await action(stack, tenant, sub, "suspend", effective_date="2025-01-10", reason="holiday")
    await action(stack, tenant, sub, "resume", effective_date="2025-01-20")
    await action(stack, tenant, sub, "terminate", effective_date="2025-01-25", reason="moving")
    await bill(stack, tenant, 1, "2025-02-01")

    events = await listed(stack.api, tenant)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)  # oldest first
    assert {e["organisation_id"] for e in events} == {tenant.organisation_id}
    account = [e for e in events if e["object_id"] == sub["account_id"]]
    assert [e["type"] for e in account] == ["account.created"]
    assert account[0]["data"]["id"] == sub["account_id"] and account[0]["api_version"]

    of_sub = await listed(stack.api, tenant, object_id=sub["subscription_id"])
    assert [(e["type"], e["data"]["status"]) for e in of_sub] == [
        ("subscription.activated", "active"),
        ("subscription.suspended", "suspended"),
        ("subscription.resumed", "active"),
        ("subscription.terminated", "terminated"),
    ]
    assert of_sub[1]["data"]["reason"] == "holiday"

    issued = await listed(stack.api, tenant, type="invoice.issued")
    assert len(issued) == 1  # the second run of the same day billed nothing and recorded nothing
    invoice = issued[0]["data"]
    assert invoice["account_id"] == sub["account_id"] and invoice["status"] == "issued"
    assert invoice["total_minor"] > 0 and invoice["currency"] == "EUR"
    assert invoice["billing_run_id"] == run["id"]

    runs = await listed(stack.api, tenant, type="billing_run.completed")
    assert runs[0]["object_id"] == run["id"] and len(runs) == 3
    assert runs[0]["data"]["counts"]["invoices"] == 1

    notes = await listed(stack.api, tenant, type=["credit_note.issued", "invoice.voided"])
    assert [e["type"] for e in notes] == ["credit_note.issued"]  # the terminated days' credit
    assert notes[0]["data"]["total_minor"] < 0

    later = await listed(stack.api, tenant, created_gte=datetime.now(UTC).isoformat())
    assert later == []


async def test_payments_refunds_and_voids_record_their_events(
    pay_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    paid = make_invoice(database_url, account, FIBRE, issue_date=date(2026, 3, 1))
    resp = await pay_api.post(
        "/v1/payments",
        headers=operator.post_headers(),
        json={"account_id": account, "amount_minor": 1210, "currency": "EUR", "method": "cash"},
    )
    assert resp.status_code == 201, resp.text
    payment = resp.json()
    refund = await pay_api.post(
        f"/v1/payments/{payment['id']}/refunds", headers=operator.post_headers(), json={"amount_minor": 210}
    )
    assert refund.status_code in (200, 201), refund.text
    assert [(t, d["status"], d["refunded_minor"]) for t, d in stored(database_url, payment["id"])] == [
        ("payment.succeeded", "succeeded", 0),
        ("payment.refunded", "partially_refunded", 210),
    ]
    assert stored(database_url, payment["id"])[1][1]["refund_amount_minor"] == 210

    unpaid = make_invoice(database_url, account, FIBRE, issue_date=date(2026, 4, 1))
    voided = await pay_api.post(f"/v1/invoices/{unpaid}/void", headers=operator.post_headers(), json={})
    assert voided.status_code in (200, 201), voided.text
    assert [(t, d["status"]) for t, d in stored(database_url, unpaid)] == [("invoice.voided", "void")]
    notes = await listed(pay_api, operator, type="credit_note.issued")
    assert [(e["data"]["invoice_id"], e["data"]["total_minor"]) for e in notes] == [(unpaid, -1210)]
    assert stored(database_url, paid) == []  # a payment is the payment's event, not the invoice's


async def test_the_list_is_the_callers_subtree_and_refuses_unknown_types(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    partner = make_child(database_url, operator.organisation_id)
    stranger = make_operator(database_url)
    resp = await api.post("/v1/accounts", headers=partner.post_headers(), json=person())
    assert resp.status_code == 201, resp.text
    account_id = resp.json()["id"]

    mine = await listed(api, partner, type="account.created")
    assert [(e["object_id"], e["organisation_id"]) for e in mine] == [(account_id, partner.organisation_id)]
    assert [e["object_id"] for e in await listed(api, operator, object_id=account_id)] == [account_id]
    assert await listed(api, stranger) == []
    one = await api.get(f"/v1/events/{mine[0]['id']}", headers=partner.auth)
    assert one.status_code == 200 and one.json() == mine[0]
    hidden = await api.get(f"/v1/events/{mine[0]['id']}", headers=stranger.auth)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "event_not_found")
    bad = await api.get("/v1/events", headers=operator.auth, params={"type": ["account.created", "nope"]})
    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_event_type")
    cursor = await api.get("/v1/events", headers=operator.auth, params={"cursor": "garbage"})
    assert (cursor.status_code, cursor.json()["code"]) == (422, "invalid_cursor")
    assert (await api.get("/v1/events?limit=201", headers=operator.auth)).status_code == 422


def test_a_provisioning_order_failing_again_records_one_event(database_url: str) -> None:
    provisioned = make_subscription(database_url, make_operator(database_url), {line(): "video:active"})
    service_id = next(iter(_service_ids(database_url, provisioned.subscription_id)))
    order = OrderInput(
        idempotency_key=f"prv-test:{service_id}",
        action=ProvisioningAction.ACTIVATE,
        service_kind="video",
        account_id=provisioned.account_id,
        subscription_id=provisioned.subscription_id,
        service_id=service_id,
        plan_code="video-plan",
    )
    for attempt in range(2):
        row = record_order(database_url, order)
        finish_order(database_url, row.id, "failed", ["ott"], {}, f"refused, attempt {attempt + 1}")
    events = stored(database_url, provisioned.subscription_id)
    assert [(t, d["order_id"], d["error"]) for t, d in events] == [
        ("provisioning.failed", row.id, "refused, attempt 1")
    ]


def _service_ids(database_url: str, subscription_id: str) -> list[str]:
    with engine_for(database_url).connect() as conn:
        return list(
            conn.execute(
                sa.text("select id from subscription_services where subscription_id = :s"),
                {"s": subscription_id},
            ).scalars()
        )


def test_retried_scripts_record_their_event_once(database_url: str) -> None:
    operator = make_operator(database_url)
    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, FIBRE)
    with unit_of_work(database_url) as session:
        acc = session.get(Account, account_id)
        assert acc is not None
        acc.verification_status, acc.verification_process_id = "pending", "verify-1"
    outcome = RecordVerificationOutcome(
        account_id=account_id, outcome="verified", decided_at=datetime.now(UTC), process_id="verify-1"
    )
    for _ in range(2):
        with unit_of_work(database_url) as session:
            record_outcome(session, outcome)
            record_step(session, invoice_id, "notice:reminder", "dunning-x:notice:reminder")
        with unit_of_work(database_url) as session:
            write_off(session, invoice_id)
        with unit_of_work(database_url) as session:
            acc = session.get(Account, account_id)
            assert acc is not None
            wallet = wallet_for(session, acc, "EUR", lock=True)
            wallet.low_balance_threshold_minor = 500
            top_up = Movement("top_up", 1000, "top-up-1", method="cash")
            move(session, wallet, top_up, top_up_entry(account_id, "EUR", 1000, "cash"), TODAY)
            spend = Movement("service_debit", -700, "spend-1")
            move(session, wallet, spend, service_debit_entry(account_id, "EUR", {"video": 700}), TODAY)
    assert [t for t, _ in stored(database_url, account_id)] == ["account.verified"]
    steps = [(t, d["step"]) for t, d in stored(database_url, invoice_id)]
    assert steps == [("dunning.step", "notice:reminder"), ("dunning.step", "write_off")]
    with engine_for(database_url).connect() as conn:
        kinds = conn.execute(
            sa.text(
                "select type from business_events where data->>'account_id' = :a and object_type = 'wallet'"
            ),
            {"a": account_id},
        ).scalars()
        assert Counter(kinds) == {"wallet.topped_up": 1, "wallet.low_balance": 1}


async def test_the_retention_schedule_runs_event_retention_daily(stack: Stack, settings: Settings) -> None:
    queue_settings = settings.model_copy(update={"task_queue": stack.task_queue})
    sid = await ensure_retention_schedule(stack.client, queue_settings)
    assert sid == await ensure_retention_schedule(stack.client, queue_settings) == "events-retention"
    handle = stack.client.get_schedule_handle(sid)
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "EventRetention"
        assert [c.hour[0].start for c in described.schedule.spec.calendars] == [RETENTION_HOUR_UTC]
        await handle.trigger()
        ran = await eventually_async(
            lambda: handle.describe(),
            until=lambda d: bool(d.info.recent_actions),
            timeout=15,
            what="the retention schedule's first run",
        )
        started = ran.info.recent_actions[0].action
        result = await stack.client.get_workflow_handle(
            started.workflow_id, run_id=started.first_execution_run_id, result_type=EventsPruned
        ).result()
        assert result.deleted >= 0
    finally:
        await handle.delete()

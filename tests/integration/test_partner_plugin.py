"""A third-party content provider is a package, not a fork: Acme TV (tests/plugins/acme_multibill) publishes
a pull provider under the ``multibill.partners`` entry point; the deployment's registry finds it, an
operator connects to it through the API, and NetflixChargeAcceptance accepts, declines, bills and reports
its charges in its own batch size, exactly as for Netflix."""

from __future__ import annotations

import importlib
import uuid
from datetime import date
from types import ModuleType

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.partner_charges.io import AcceptanceInput
from integrations.partners.base import PartnerConnection, SubscribeRequest
from runtime.partners import build_partner_registry
from runtime.settings import Settings
from tests.support.factories import Tenant
from tests.support.partner_factory import (
    acceptance_worker,
    charges_of,
    make_member,
    membership_of,
    pending_charges_of,
)
from workflows.partner_charges import NetflixChargeAcceptanceWorkflow


@pytest.fixture
def acmetv(acme_plugin: None) -> ModuleType:
    """Acme TV's provider module and its in-memory backend, as the plug-in package ships them."""
    return importlib.import_module("acme_multibill.partner")


async def test_a_provider_from_an_installed_package_is_connected_accepted_and_billed(
    acmetv: ModuleType,
    api: httpx.AsyncClient,
    operator: Tenant,
    settings: Settings,
    time_skipping_env: WorkflowEnvironment,
) -> None:
    registry = build_partner_registry(settings)
    assert registry.names() == ["acmetv", "netflix", "sportstream"]
    assert registry.disabled == []

    partner_id = f"acme-{uuid.uuid4().hex[:8]}"
    answer = await api.post(
        "/v1/partner-connections",
        json={
            "provider": "acmetv",
            "base_url": "https://tv.acme.example",
            "partner_id": partner_id,
            "secret": "acme-s3cret",
        },
        headers=operator.post_headers(),
    )
    assert answer.status_code == 201, answer.text
    db = settings.database_url or ""
    org = operator.organisation_id
    members = [make_member(db, org, "acmetv", plan="BASIC", allowance_minor=900) for _ in range(12)]
    greedy = make_member(db, org, "acmetv", plan="BASIC", allowance_minor=900)
    session = registry.get("acmetv").connect(
        PartnerConnection(
            provider="acmetv", base_url="https://tv.acme.example", partner_id=partner_id, secret="x"
        )
    )
    for member in [*members, greedy]:
        session.subscribe(SubscribeRequest(customer_id=member.customer_id, partner_plan="BASIC"))
        acmetv.complete_signup(partner_id, member.customer_id)
        amount = 1500 if member is greedy else 799
        acmetv.post_charge(partner_id, member.customer_id, amount, "EUR", date(2026, 3, 31))

    async with acceptance_worker(time_skipping_env.client, settings, registry) as queue:
        result = await time_skipping_env.client.execute_workflow(
            NetflixChargeAcceptanceWorkflow.run,
            AcceptanceInput(organisation_id=org, provider="acmetv"),
            id=f"partner-charges-acme-{uuid.uuid4().hex[:8]}",
            task_queue=queue.task_queue,
        )

    assert (result.fetched, result.accepted, result.declined, result.reported, result.failed) == (
        13,
        12,
        1,
        13,
        0,
    )
    assert sorted(n for p, n in acmetv.BATCHES if p == partner_id) == [1, 2, 10]  # its own max_batch of 10
    for member in members:
        [(kind, amount, currency, _)] = pending_charges_of(db, member.account_id)
        assert (kind, amount, currency) == ("partner_charge", 799, "EUR")
    assert pending_charges_of(db, greedy.account_id) == []
    assert membership_of(db, greedy.membership_id)[0] == "ended"
    assert acmetv.MEMBERS[(partner_id, greedy.customer_id)]["status"] == "ENDED"
    ours = charges_of(db, org, "acmetv")
    assert sorted(c.status for c in ours.values()) == ["accepted"] * 12 + ["declined"]
    for number, charge in ours.items():
        theirs = acmetv.CHARGES[(partner_id, number)]
        assert theirs["status"] == ("APPROVED" if charge.status == "accepted" else "DECLINED")
        assert theirs["reference"] == f"MB-{charge.id}"

"""A mandate's IBAN is stored sealed (AES-GCM under MULTIBILL_DATA_KEY), never in clear: the API and
the payment method show only its masked form, and the pain.008 file still carries the full IBAN."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from defusedxml.ElementTree import fromstring

from activities.payments.sepa import MandateRequest
from activities.wallets.gateway_records import SqlSepaStore
from api.idempotency import fingerprint
from domain.ids import new_id
from domain.sepa_files import PAIN_008
from integrations.payments.base import ChargeRequest, ChargeStatus
from integrations.payments.sepa import SepaGateway, schema_errors
from models.base import engine_for
from models.migrate import upgrade
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import make_operator
from tests.support.migration_db import database_at
from tests.support.payment_support import CREDITOR, IBAN, NS, mandate_body, rows


def raw_mandate(database_url: str, mandate_id: str) -> str:
    """Every column of the row as the database holds it, as text."""
    found = rows(database_url, "select m::text as row from sepa_mandates m where id = :i", i=mandate_id)
    return str(found[0]["row"])


async def collect_file(api: httpx.AsyncClient, tenant_headers: dict[str, str]) -> str:
    body = {"collection_date": "2026-03-06", "creditor": CREDITOR}
    resp = await api.post("/v1/sepa/collections", json=body, headers=tenant_headers)
    assert resp.status_code == 201, resp.text
    assert schema_errors(resp.text) == []
    return resp.text


def debtor_ibans(xml: str) -> list[str]:
    return [
        e.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) or ""
        for e in fromstring(xml.encode()).iter(f"{{{PAIN_008}}}DrctDbtTxInf")
    ]


def queue_debit(database_url: str, account: str, mandate_id: str) -> None:
    invoice = make_invoice(database_url, account, [Line("Fibra", 2500, rate="none", percent="0")])
    result = SepaGateway(SqlSepaStore(database_url)).charge(
        ChargeRequest(
            idempotency_key=f"{invoice}:attempt:1",
            account_id=account,
            invoice_id=invoice,
            amount_minor=2500,
            currency="EUR",
            method_token=mandate_id,
        )
    )
    assert result.status is ChargeStatus.PENDING


async def test_the_iban_is_sealed_at_rest_and_whole_in_the_bank_file(
    api: httpx.AsyncClient, database_url: str
) -> None:
    operator = make_operator(database_url)
    account = make_account(database_url, operator.organisation_id)
    resp = await api.post(
        f"/v1/accounts/{account}/sepa-mandates",
        json=mandate_body(),
        headers=operator.post_headers(),
    )
    assert resp.status_code == 201, resp.text
    mandate = resp.json()
    assert mandate["iban_masked"] == "DE89 **** 3000" and "iban" not in mandate
    stored = raw_mandate(database_url, mandate["id"])
    assert IBAN not in stored and "370400440532013" not in stored
    assert "DE89 **** 3000" in stored  # the masked form is kept for display

    queue_debit(database_url, account, mandate["id"])
    xml = await collect_file(api, operator.post_headers())
    assert debtor_ibans(xml) == [IBAN]


async def test_the_idempotency_record_of_a_mandate_holds_no_plain_hash_of_the_iban(
    api: httpx.AsyncClient, database_url: str
) -> None:
    operator = make_operator(database_url)
    account = make_account(database_url, operator.organisation_id)
    body = mandate_body()
    headers = operator.post_headers()
    path = f"/v1/accounts/{account}/sepa-mandates"
    first = await api.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await api.post(path, json=body, headers=headers)
    assert (again.status_code, again.content) == (201, first.content)  # still a replay
    other = await api.post(path, json={**body, "iban": "ES9121000418450200051332"}, headers=headers)
    assert other.status_code == 409  # another IBAN under the same key is still told apart
    stored = rows(
        database_url,
        "select request_hash from idempotency_keys where organisation_id = :o and key = :k",
        o=operator.organisation_id,
        k=headers["Idempotency-Key"],
    )
    plain = fingerprint("POST", path, MandateRequest(**body).model_dump(mode="json"))
    assert stored[0]["request_hash"] != plain  # an unkeyed hash of the IBAN can be brute-forced


def test_migration_0013_seals_the_ibans_it_finds(database_url: str) -> None:
    mandate_id = new_id("mdt")
    with database_at(database_url, "0012") as old:
        with engine_for(old).begin() as conn:
            conn.exec_driver_sql("set session_replication_role = replica")  # a row without its parents
            conn.execute(
                sa.text(
                    "insert into sepa_mandates (id, organisation_id, account_id, reference, signed_on,"
                    " debtor_name, iban, bic, status, created_at) values (:i, 'org_x', 'acc_x', :r,"
                    " '2026-01-15', 'Ana Ruiz', :iban, 'DEUTDEFF', 'active', now())"
                ),
                {"i": mandate_id, "r": f"MND-{mandate_id[-8:]}", "iban": IBAN},
            )
        upgrade(old, "0013")
        stored = raw_mandate(old, mandate_id)
        assert IBAN not in stored and "DE89 **** 3000" in stored
        columns = rows(
            old, "select column_name from information_schema.columns where table_name = 'sepa_mandates'"
        )
        assert "iban" not in {c["column_name"] for c in columns}

"""SEPA through the API: mandates (IBAN/BIC refused with 422 naming the field), debits queued by the
gateway, the pain.008 collection file (schema-valid, right counts and totals, FRST then RCUR), and the
returns import that fails the payments, reverses their ledger entries and reopens their invoices."""

from __future__ import annotations

from datetime import date

import httpx
from defusedxml.ElementTree import fromstring
from sqlalchemy import select

from activities.shared.ledger import post_entry
from activities.wallets.gateway_records import SqlSepaStore
from domain.ids import new_id
from domain.ledger import payment_entry
from domain.sepa_files import PAIN_008
from integrations.payments.base import ChargeRequest, ChargeStatus
from integrations.payments.sepa import SepaGateway, schema_errors
from models.base import unit_of_work
from models.billing import Invoice
from models.payments import Payment, PaymentAllocation, PaymentMethod
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant, make_operator
from tests.support.payment_support import CREDITOR, NS, mandate_body
from tests.support.wallet_support import entries_for, postings_of


def pain_002(rejected: list[tuple[str, str]]) -> str:
    txs = "".join(
        f"<TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>RJCT</TxSts>"
        f"<StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf></TxInfAndSts>"
        for e2e, code in rejected
    )
    return (
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>'
        f"<OrgnlPmtInfAndSts>{txs}</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
    )


async def test_mandates_validate_iban_and_bic_and_become_payment_methods(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    acc = make_account(database_url, operator.organisation_id)
    url = f"/v1/accounts/{acc}/sepa-mandates"
    for body, code, field in [
        (mandate_body(iban="DE89370400440532013001"), "iban_invalid", "iban"),
        (mandate_body(iban="XX00"), "iban_invalid", "iban"),
        (mandate_body(bic="DEUT1EFF"), "bic_invalid", "bic"),
        (mandate_body(reference="bad*ref"), "sepa_reference_invalid", "reference"),
    ]:
        resp = await api.post(url, json=body, headers=operator.post_headers())
        assert resp.status_code == 422, resp.text
        assert resp.json()["code"] == code
        assert [e["field"] for e in resp.json()["errors"]] == [field]
    ok = await api.post(
        url,
        json=mandate_body(iban="de89 3704 0044 0532 0130 00", reference="MND-1"),
        headers=operator.post_headers(),
    )
    assert ok.status_code == 201, ok.text
    out = ok.json()
    assert (out["reference"], out["iban_masked"], out["bic"]) == ("MND-1", "DE89 **** 3000", "DEUTDEFF")
    taken = await api.post(url, json=mandate_body(reference="MND-1"), headers=operator.post_headers())
    assert (taken.status_code, taken.json()["code"]) == (409, "mandate_reference_taken")
    with unit_of_work(database_url) as session:
        method = session.get(PaymentMethod, out["payment_method_id"])
        assert method is not None
        assert (method.kind, method.gateway, method.gateway_token, method.iban_masked) == (
            "sepa_debit",
            "sepa",
            out["id"],
            "DE89 **** 3000",
        )


async def _mandate(api: httpx.AsyncClient, tenant: Tenant, account_id: str, **overrides: object) -> str:
    resp = await api.post(
        f"/v1/accounts/{account_id}/sepa-mandates",
        json=mandate_body(**overrides),
        headers=tenant.post_headers(),
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _charge(gateway: SepaGateway, account_id: str, mandate_id: str, amount: int, invoice_id: str) -> str:
    result = gateway.charge(
        ChargeRequest(
            idempotency_key=f"{invoice_id}:attempt:1",
            account_id=account_id,
            invoice_id=invoice_id,
            amount_minor=amount,
            currency="EUR",
            method_token=mandate_id,
            description=f"Invoice {invoice_id}",
        )
    )
    assert result.status is ChargeStatus.PENDING and result.gateway_reference
    return result.gateway_reference


def _record_payment(
    database_url: str, org: str, account_id: str, invoice_id: str, e2e: str, amount: int
) -> str:
    """What the payments core records for a collected SEPA debit: the payment, its allocation, its entry."""
    payment_id = new_id("pay")
    with unit_of_work(database_url) as session:
        session.add(
            Payment(
                id=payment_id,
                organisation_id=org,
                account_id=account_id,
                kind="sepa_debit",
                amount_minor=amount,
                currency="EUR",
                status="succeeded",
                gateway="sepa",
                gateway_reference=e2e,
                idempotency_key=f"{invoice_id}:attempt:1",
                invoice_id=invoice_id,
            )
        )
        session.flush()
        session.add(PaymentAllocation(payment_id=payment_id, invoice_id=invoice_id, amount_minor=amount))
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.paid_minor, invoice.status = amount, "paid"
        post_entry(
            session,
            organisation_id=org,
            customer_id=account_id,
            kind="payment",
            source_id=payment_id,
            currency="EUR",
            booked_on=date(2026, 3, 6),
            postings=payment_entry(account_id, "EUR", amount, "sepa"),
            key=f"payment:{payment_id}",
        )
    return payment_id


async def test_collection_file_and_returns(api: httpx.AsyncClient, database_url: str) -> None:
    operator = make_operator(database_url)  # its own tree: the run collects every pending debit in it
    org = operator.organisation_id
    ana, luis = make_account(database_url, org), make_account(database_url, org)
    gateway = SepaGateway(SqlSepaStore(database_url))
    ana_mandate = await _mandate(api, operator, ana, reference=f"MND-{ana[-8:]}")
    luis_mandate = await _mandate(api, operator, luis, bic=None, reference=f"MND-{luis[-8:]}")
    inv1 = make_invoice(database_url, ana, [Line("Fibra", 2500, rate="none", percent="0")])
    inv2 = make_invoice(database_url, luis, [Line("TV", 1999, rate="none", percent="0")])
    e2e1 = _charge(gateway, ana, ana_mandate, 2500, inv1)
    assert _charge(gateway, ana, ana_mandate, 2500, inv1) == e2e1  # a retried charge is the same debit
    e2e2 = _charge(gateway, luis, luis_mandate, 1999, inv2)
    dollars = gateway.charge(
        ChargeRequest(
            idempotency_key=f"usd-{ana}",
            account_id=ana,
            amount_minor=100,
            currency="USD",
            method_token=ana_mandate,
        )
    )
    assert (dollars.status, dollars.decline_code) == (ChargeStatus.FAILED, "currency_mismatch")
    assert gateway.lookup(f"{inv1}:attempt:1").status is ChargeStatus.PENDING  # type: ignore[union-attr]

    body = {"collection_date": "2026-03-06", "creditor": CREDITOR}
    resp = await api.post("/v1/sepa/collections", json=body, headers=operator.post_headers())
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"].startswith("application/xml")
    assert (resp.headers["X-Collection-Count"], resp.headers["X-Collection-Total-Minor"]) == ("2", "4499")
    assert schema_errors(resp.text) == []
    root = fromstring(resp.text.encode())
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "44.99"
    assert [b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) for b in root.findall(".//p:PmtInf", NS)] == [
        "FRST"
    ]
    e2es = [e.text or "" for e in root.iter(f"{{{PAIN_008}}}EndToEndId")]
    assert sorted(e2es) == sorted([e2e1, e2e2])
    assert gateway.lookup(f"{inv1}:attempt:1").status is ChargeStatus.SUCCEEDED  # type: ignore[union-attr]
    empty = await api.post("/v1/sepa/collections", json=body, headers=operator.post_headers())
    assert (empty.status_code, empty.json()["code"]) == (422, "sepa_nothing_to_collect")
    bad = await api.post(
        "/v1/sepa/collections",
        json={**body, "creditor": {**CREDITOR, "iban": "ES00"}},
        headers=operator.post_headers(),
    )
    assert (bad.status_code, bad.json()["code"], bad.json()["errors"][0]["field"]) == (
        422,
        "iban_invalid",
        "creditor.iban",
    )

    payment = _record_payment(database_url, org, ana, inv1, e2e1, 2500)
    returns = f"end_to_end_id,reason_code\n{e2e1},AC04\nsdd_UNKNOWN,MD06\n"
    resp = await api.post(
        "/v1/sepa/returns", content=returns, headers={**operator.post_headers(), "Content-Type": "text/csv"}
    )
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert [
        (r["end_to_end_id"], r["reason_code"], r["payment_id"], r["amount_minor"]) for r in out["returned"]
    ] == [(e2e1, "AC04", payment, 2500)]
    assert out["unknown"] == ["sdd_UNKNOWN"]
    with unit_of_work(database_url) as session:
        paid = session.get(Payment, payment)
        invoice = session.get(Invoice, inv1)
        assert paid is not None and invoice is not None
        assert (paid.status, paid.decline_code) == ("failed", "AC04")
        assert (invoice.status, invoice.paid_minor) == ("issued", 0)
    reversal_id = out["returned"][0]["reversed_entries"][0]
    assert postings_of(database_url, reversal_id) == [
        ("cash:sepa", None, 0, 2500),
        ("receivable", ana, 2500, 0),
    ]
    assert len([e for e in entries_for(database_url, ana) if e.kind == "payment"]) == 2
    lookup = gateway.lookup(f"{inv1}:attempt:1")
    assert lookup is not None and (lookup.status, lookup.decline_code) == (ChargeStatus.DECLINED, "AC04")

    pain002 = pain_002([(e2e1, "AC04"), (e2e2, "MS02")])
    again = await api.post(
        "/v1/sepa/returns",
        content=pain002,
        headers={**operator.post_headers(), "Content-Type": "application/xml"},
    )
    assert again.json()["already_returned"] == [e2e1]
    assert [(r["end_to_end_id"], r["reason_code"], r["payment_id"]) for r in again.json()["returned"]] == [
        (e2e2, "MS02", None)
    ]
    with unit_of_work(database_url) as session:
        assert session.execute(select(Payment).where(Payment.gateway_reference == e2e2)).first() is None

"""SEPA identifiers and files: IBAN mod-97 and BIC rules (with hypothesis), the pain.008.001.02 file
against the official schema, and the returns parsers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import RuleViolation
from domain.sepa import IBAN_LENGTHS, iban_problem, mask_iban, validate_bic, validate_iban, with_check_digits
from domain.sepa_files import PAIN_008, Creditor, DebitLine, collection_xml, parse_returns
from integrations.payments.sepa import schema_errors

VALID_IBANS = [
    "ES91 2100 0418 4502 0005 1332",
    "DE89370400440532013000",
    "FR1420041010050500013M02606",
    "GB29NWBK60161331926819",
    "NL91ABNA0417164300",
    "be68 5390 0754 7034",
]
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_known_ibans_are_valid_and_normalised(iban: str) -> None:
    assert validate_iban(iban) == "".join(iban.split()).upper()


@pytest.mark.parametrize(
    "iban",
    [
        "ES91 2100 0418 4502 0005 1333",
        "DE89370400440532013001",
        "XX89370400440532013000",
        "DE8937040044053201300",
        "DE89-3704-0044-0532-0130-00",
        "",
    ],
)
def test_bad_ibans_are_refused_with_a_stable_code(iban: str) -> None:
    with pytest.raises(RuleViolation) as err:
        validate_iban(iban)
    assert (err.value.code, err.value.field) == ("iban_invalid", "iban")


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    bban = draw(
        st.text(alphabet="0123456789", min_size=IBAN_LENGTHS[country] - 4, max_size=IBAN_LENGTHS[country] - 4)
    )
    return with_check_digits(country, bban)


@given(ibans())
def test_every_iban_with_computed_check_digits_is_valid(iban: str) -> None:
    assert iban_problem(iban) is None
    assert mask_iban(iban).endswith(iban[-4:])


@given(ibans(), st.data())
def test_changing_one_character_breaks_the_checksum(iban: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=4, max_value=len(iban) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != iban[position]]))
    assert iban_problem(iban[:position] + other + iban[position + 1 :]) is not None


@pytest.mark.parametrize("bic", ["DEUTDEFF", "deutdeff500", "CAIXESBBXXX", "NWBKGB2L"])
def test_valid_bics(bic: str) -> None:
    assert validate_bic(bic) == bic.upper()


@pytest.mark.parametrize("bic", ["DEUTDEF", "DEUT1EFF", "DEUTDEFF5", "DEUTXXFF", "DEUTDEFF50000"])
def test_invalid_bics(bic: str) -> None:
    with pytest.raises(RuleViolation) as err:
        validate_bic(bic)
    assert (err.value.code, err.value.field) == ("bic_invalid", "bic")


@given(st.text(alphabet=ALNUM, min_size=0, max_size=14))
def test_a_bic_is_8_or_11_characters(text: str) -> None:
    if len(text) not in (8, 11):
        with pytest.raises(RuleViolation):
            validate_bic(text)


CREDITOR = Creditor("Multibill Telecom S.L.", "ES9121000418450200051332", "CAIXESBBXXX", "ES12ZZZB12345678")


def debit(e2e: str, amount: int, seq: str, bic: str | None = "DEUTDEFF") -> DebitLine:
    return DebitLine(
        e2e,
        amount,
        f"MND-{e2e}",
        date(2026, 1, 15),
        "Ana Ruiz",
        "DE89370400440532013000",
        bic,
        seq,
        f"Invoice {e2e}",
    )


def test_the_collection_file_validates_and_carries_the_totals() -> None:
    lines = [debit("E1", 2999, "FRST"), debit("E2", 1, "RCUR", None), debit("E3", 120000, "RCUR")]
    xml = collection_xml(
        "MSG-0001", datetime(2026, 3, 1, 9, 30, tzinfo=UTC), CREDITOR, date(2026, 3, 6), lines
    )
    assert schema_errors(xml) == []
    ns = {"p": PAIN_008}
    root = fromstring(xml)
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=ns) == "3"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "1230.00"
    blocks = root.findall("p:CstmrDrctDbtInitn/p:PmtInf", ns)
    summary = [
        (
            b.findtext("p:PmtTpInf/p:SeqTp", namespaces=ns),
            b.findtext("p:NbOfTxs", namespaces=ns),
            b.findtext("p:CtrlSum", namespaces=ns),
        )
        for b in blocks
    ]
    assert summary == [("FRST", "1", "29.99"), ("RCUR", "2", "1200.01")]
    amounts = [a.text for a in root.iter(f"{{{PAIN_008}}}InstdAmt")]
    assert amounts == ["29.99", "0.01", "1200.00"]


def test_schema_errors_catch_a_broken_file() -> None:
    xml = collection_xml(
        "MSG-0002", datetime(2026, 3, 1, tzinfo=UTC), CREDITOR, date(2026, 3, 6), [debit("E1", 100, "FRST")]
    )
    assert schema_errors(xml.replace("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>NOPE</ChrgBr>")) != []


def test_nothing_to_collect_is_refused() -> None:
    with pytest.raises(RuleViolation) as err:
        collection_xml("MSG-0003", datetime(2026, 3, 1, tzinfo=UTC), CREDITOR, date(2026, 3, 6), [])
    assert err.value.code == "sepa_nothing_to_collect"


PAIN_002 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
<GrpHdr><MsgId>R1</MsgId><CreDtTm>2026-03-08T10:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>MSG-0001</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>MSG-0001-RCUR</OrgnlPmtInfId>
<TxInfAndSts><OrgnlEndToEndId>E2</OrgnlEndToEndId><TxSts>RJCT</TxSts>
<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>E3</OrgnlEndToEndId><TxSts>RJCT</TxSts>
<StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></TxInfAndSts>
</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"""


def test_returns_from_pain_002_and_csv() -> None:
    assert [(r.end_to_end_id, r.reason_code) for r in parse_returns(PAIN_002)] == [
        ("E2", "AC04"),
        ("E3", "AM04"),
    ]
    csv_text = "end_to_end_id,reason_code\nE1, MD06\n\nE9,AC01\n"
    assert [(r.end_to_end_id, r.reason_code) for r in parse_returns(csv_text)] == [
        ("E1", "MD06"),
        ("E9", "AC01"),
    ]
    for bad, code in [("E1\n", "returns_file_invalid"), ("<Document", "returns_file_invalid"),
                      ("end_to_end_id,reason_code\n", "returns_file_empty")]:  # fmt: skip
        with pytest.raises(RuleViolation) as err:
            parse_returns(bad)
        assert err.value.code == code


def test_a_sealed_iban_opens_only_with_its_key_and_its_mandate() -> None:
    import pytest

    from domain.sepa_vault import IbanVault, SealBroken

    vault = IbanVault("k" * 40)
    sealed = vault.seal("DE89370400440532013000", "mdt_1")
    assert "DE89" not in sealed and sealed.startswith("v1.")
    assert sealed != vault.seal("DE89370400440532013000", "mdt_1")  # a fresh nonce each time
    assert vault.open(sealed, "mdt_1") == "DE89370400440532013000"
    with pytest.raises(SealBroken):
        vault.open(sealed, "mdt_2")  # copied onto another mandate's row
    with pytest.raises(SealBroken):
        IbanVault("another key").open(sealed, "mdt_1")


def test_production_refuses_the_development_data_key() -> None:
    from runtime.settings import Settings

    with pytest.raises(RuntimeError, match="MULTIBILL_DATA_KEY"):
        Settings(environment="production", secret_key="s" * 40).require_safe_secret()
    keys = "k1:" + "A" * 43 + "="  # 32 bytes; the payload codec's key is needed in production too
    Settings(
        environment="production", secret_key="s" * 40, data_key="d" * 40, payload_keys=keys
    ).require_safe_secret()

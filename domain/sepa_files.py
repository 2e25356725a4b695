"""SEPA bank files (pure): the pain.008.001.02 collection file and the returns we read back.

``collection_xml`` builds a SEPA Core direct debit initiation with one payment information block per
sequence type (FRST, RCUR); ``parse_returns`` reads a pain.002 status report (rejected transactions)
or a CSV of ``end_to_end_id,reason_code`` lines.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from domain.errors import RuleViolation

PAIN_008 = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str
    creditor_id: str  # the SEPA Creditor Identifier, e.g. ES12ZZZB12345678


@dataclass(frozen=True)
class DebitLine:
    end_to_end_id: str
    amount_minor: int
    mandate_reference: str
    mandate_signed_on: date
    debtor_name: str
    debtor_iban: str
    debtor_bic: str | None
    sequence_type: str  # FRST | RCUR
    remittance: str


@dataclass(frozen=True)
class ReturnLine:
    end_to_end_id: str
    reason_code: str


def euros(amount_minor: int) -> str:
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


def _add(parent: ET.Element, path: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = parent
    for name in path.split("/"):
        node = ET.SubElement(node, name)
    if attrs:
        node.attrib.update(attrs)
    if text is not None:
        node.text = text
    return node


def _text(value: str, limit: int) -> str:
    return value.strip()[:limit] or "-"


def _transaction(block: ET.Element, line: DebitLine) -> None:
    tx = _add(block, "DrctDbtTxInf")
    _add(tx, "PmtId/EndToEndId", line.end_to_end_id)
    _add(tx, "InstdAmt", euros(line.amount_minor), Ccy="EUR")
    mandate = _add(tx, "DrctDbtTx/MndtRltdInf")
    _add(mandate, "MndtId", line.mandate_reference)
    _add(mandate, "DtOfSgntr", line.mandate_signed_on.isoformat())
    agent = _add(tx, "DbtrAgt/FinInstnId")
    if line.debtor_bic:
        _add(agent, "BIC", line.debtor_bic)
    else:
        _add(agent, "Othr/Id", "NOTPROVIDED")
    _add(tx, "Dbtr/Nm", _text(line.debtor_name, 70))
    _add(tx, "DbtrAcct/Id/IBAN", line.debtor_iban)
    _add(tx, "RmtInf/Ustrd", _text(line.remittance, 140))


def _payment_block(
    root: ET.Element, message_id: str, creditor: Creditor, due: date, seq: str, lines: list[DebitLine]
) -> None:
    block = _add(root, "PmtInf")
    _add(block, "PmtInfId", f"{message_id}-{seq}"[:35])
    _add(block, "PmtMtd", "DD")
    _add(block, "BtchBookg", "true")
    _add(block, "NbOfTxs", str(len(lines)))
    _add(block, "CtrlSum", euros(sum(line.amount_minor for line in lines)))
    kind = _add(block, "PmtTpInf")
    _add(kind, "SvcLvl/Cd", "SEPA")
    _add(kind, "LclInstrm/Cd", "CORE")
    _add(kind, "SeqTp", seq)
    _add(block, "ReqdColltnDt", due.isoformat())
    _add(block, "Cdtr/Nm", _text(creditor.name, 70))
    _add(block, "CdtrAcct/Id/IBAN", creditor.iban)
    _add(block, "CdtrAgt/FinInstnId/BIC", creditor.bic)
    _add(block, "ChrgBr", "SLEV")
    scheme = _add(block, "CdtrSchmeId/Id/PrvtId/Othr")
    _add(scheme, "Id", creditor.creditor_id)
    _add(scheme, "SchmeNm/Prtry", "SEPA")
    for line in lines:
        _transaction(block, line)


def collection_xml(
    message_id: str, created_at: datetime, creditor: Creditor, due: date, lines: list[DebitLine]
) -> str:
    """The pain.008.001.02 document for ``lines`` (grouped by sequence type), as UTF-8 XML text."""
    if not lines:
        raise RuleViolation("sepa_nothing_to_collect", "there are no pending SEPA debits to collect")
    document = ET.Element("Document", xmlns=PAIN_008)
    root = _add(document, "CstmrDrctDbtInitn")
    header = _add(root, "GrpHdr")
    _add(header, "MsgId", message_id)
    _add(header, "CreDtTm", created_at.replace(microsecond=0, tzinfo=None).isoformat())
    _add(header, "NbOfTxs", str(len(lines)))
    _add(header, "CtrlSum", euros(sum(line.amount_minor for line in lines)))
    _add(header, "InitgPty/Nm", _text(creditor.name, 70))
    for seq in ("FRST", "RCUR"):
        group = [line for line in lines if line.sequence_type == seq]
        if group:
            _payment_block(root, message_id, creditor, due, seq, group)
    ET.indent(document)
    body = ET.tostring(document, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_text(node: ET.Element, *names: str) -> str | None:
    for child in node.iter():
        if _local(child.tag) in names and child.text:
            return child.text.strip()
    return None


def _parse_pain002(text: str) -> list[ReturnLine]:
    try:
        root = fromstring(text)
    except (ET.ParseError, DefusedXmlException) as err:
        raise RuleViolation("returns_file_invalid", f"not well-formed XML: {err}", field="file") from err
    found = []
    for tx in root.iter():
        if _local(tx.tag) != "TxInfAndSts":
            continue
        status = _find_text(tx, "TxSts")
        e2e = _find_text(tx, "OrgnlEndToEndId")
        if e2e and status in ("RJCT", None):
            found.append(ReturnLine(e2e, _find_text(tx, "Cd", "Prtry") or "NARR"))
    return found


def _parse_csv(text: str) -> list[ReturnLine]:
    found = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].lower() in ("end_to_end_id", "endtoendid"):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise RuleViolation(
                "returns_file_invalid", f"line {number}: expected end_to_end_id,reason_code", field="file"
            )
        found.append(ReturnLine(cells[0], cells[1][:8]))
    return found


def parse_returns(text: str) -> list[ReturnLine]:
    """Returned or rejected debits from a pain.002 report or a CSV (``end_to_end_id,reason_code``)."""
    lines = _parse_pain002(text) if text.lstrip().startswith("<") else _parse_csv(text)
    if not lines:
        raise RuleViolation(
            "returns_file_empty", "the file names no returned or rejected debit", field="file"
        )
    return lines

"""SEPA direct debit: mandates, debits queued by the gateway, the collection run (pain.008) and the
returns import that fails those payments and reverses their ledger entries.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from domain.errors import Conflict, RuleViolation
from domain.ids import new_id
from domain.principal import Principal
from domain.sepa import mask_iban, validate_bic, validate_iban, validate_sepa_id
from domain.sepa_files import Creditor, DebitLine, collection_xml
from domain.sepa_vault import IbanVault
from integrations.payments.base import ChargeRequest
from integrations.payments.sepa import SepaRejected, schema_errors
from models.organisations import Organisation
from models.payments import PaymentMethod
from models.sepa import SepaCollection, SepaDebit, SepaMandate


class MandateRequest(BaseModel):
    """POST /v1/accounts/{id}/sepa-mandates: the signed mandate of the account holder."""

    model_config = ConfigDict(extra="forbid")

    reference: str | None = Field(default=None, description="Unique mandate reference (default: generated)")
    signed_on: date
    debtor_name: str = Field(min_length=1, max_length=70)
    iban: str = Field(max_length=42)
    bic: str | None = Field(default=None, max_length=11)
    make_default: bool = False

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        return validate_iban(value)

    @field_validator("bic")
    @classmethod
    def _valid_bic(cls, value: str | None) -> str | None:
        return None if value is None else validate_bic(value)

    @field_validator("reference")
    @classmethod
    def _valid_reference(cls, value: str | None) -> str | None:
        return None if value is None else validate_sepa_id(value, field="reference")


class CreditorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=70)
    iban: str = Field(max_length=42)
    bic: str = Field(max_length=11)
    creditor_id: str = Field(min_length=8, max_length=35, description="SEPA Creditor Identifier")

    @field_validator("iban")
    @classmethod
    def _valid_iban(cls, value: str) -> str:
        return validate_iban(value, field="creditor.iban")

    @field_validator("bic")
    @classmethod
    def _valid_bic(cls, value: str) -> str:
        return validate_bic(value, field="creditor.bic")


class CollectionRequest(BaseModel):
    """POST /v1/sepa/collections: collect every pending debit on ``collection_date``."""

    model_config = ConfigDict(extra="forbid")

    collection_date: date
    creditor: CreditorIn


def create_mandate(
    session: Session,
    principal: Principal,
    account_id: str,
    request: MandateRequest,
    today: date,
    vault: IbanVault,
) -> SepaMandate:
    """Record the mandate with its IBAN sealed (only the masked form is kept readable)."""
    account = visible_account(session, principal, account_id, lock=True)
    if request.signed_on > today:
        raise RuleViolation("signature_in_future", "a mandate is signed before it is used", field="signed_on")
    reference = request.reference or new_id("mdt").replace("_", "-").upper()
    taken = session.execute(
        select(SepaMandate.id).where(
            SepaMandate.organisation_id == account.organisation_id, SepaMandate.reference == reference
        )
    ).first()
    if taken is not None:
        raise Conflict("mandate_reference_taken", f"mandate reference {reference} is already used")
    mandate_id = new_id("mdt")
    mandate = SepaMandate(
        id=mandate_id,
        organisation_id=account.organisation_id,
        account_id=account.id,
        reference=reference,
        signed_on=request.signed_on,
        debtor_name=request.debtor_name,
        iban_sealed=vault.seal(request.iban, mandate_id),
        iban_masked=mask_iban(request.iban),
        bic=request.bic,
        status="active",
    )
    if request.make_default:
        for other in session.execute(
            select(PaymentMethod).where(PaymentMethod.account_id == account.id, PaymentMethod.is_default)
        ).scalars():
            other.is_default = False
        session.flush()
    method = PaymentMethod(
        id=new_id("pm"),
        account_id=account.id,
        kind="sepa_debit",
        gateway="sepa",
        gateway_token=mandate.id,
        mandate_reference=reference,
        mandate_signed_on=request.signed_on,
        iban_masked=mask_iban(request.iban),
        bic=request.bic,
        details={"debtor_name": request.debtor_name},
        is_default=request.make_default,
        status="active",
    )
    session.add(method)
    mandate.payment_method_id = method.id
    session.add(mandate)
    session.flush()
    return mandate


def enqueue_debit(session: Session, request: ChargeRequest) -> SepaDebit:
    """A debit for the next collection file, once per idempotency key."""
    found = session.execute(
        select(SepaDebit).where(SepaDebit.idempotency_key == request.idempotency_key)
    ).scalar_one_or_none()
    if found is not None:
        return found
    mandate = session.get(SepaMandate, request.method_token)
    if mandate is None or mandate.account_id != request.account_id:
        raise SepaRejected("mandate_not_found", f"no SEPA mandate {request.method_token} for this account")
    if mandate.status != "active":
        raise SepaRejected("mandate_revoked", f"SEPA mandate {mandate.reference} is revoked")
    if request.currency != "EUR":
        raise SepaRejected("currency_mismatch", f"SEPA debits are in EUR, not {request.currency}")
    debit = SepaDebit(
        id=new_id("sdd"),
        organisation_id=mandate.organisation_id,
        account_id=mandate.account_id,
        mandate_id=mandate.id,
        invoice_id=request.invoice_id,
        amount_minor=request.amount_minor,
        currency="EUR",
        remittance=(request.description or request.invoice_id or "")[:140],
        status="pending",
        idempotency_key=request.idempotency_key,
    )
    session.add(debit)
    session.flush()
    return debit


def run_collection(
    session: Session, principal: Principal, request: CollectionRequest, now: datetime, vault: IbanVault
) -> SepaCollection:
    """Every pending debit of the caller's organisations into one pain.008 file (schema-checked); the
    debtors' IBANs are opened for the file only."""
    rows = session.execute(
        select(SepaDebit, SepaMandate)
        .join(SepaMandate, SepaMandate.id == SepaDebit.mandate_id)
        .join(Organisation, Organisation.id == SepaDebit.organisation_id)
        .where(
            SepaDebit.status == "pending",
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
        .order_by(SepaDebit.id)
        .with_for_update(of=SepaDebit, skip_locked=True)
    ).all()
    collection_id = new_id("sdc")
    message_id = collection_id.replace("_", "-").upper()[:35]
    lines = []
    for debit, mandate in rows:
        debit.sequence_type = "RCUR" if mandate.first_collected_on else "FRST"
        lines.append(
            DebitLine(
                debit.id,
                debit.amount_minor,
                mandate.reference,
                mandate.signed_on,
                mandate.debtor_name,
                vault.open(mandate.iban_sealed, mandate.id),
                mandate.bic,
                debit.sequence_type,
                debit.remittance or debit.id,
            )
        )
    c = request.creditor
    xml = collection_xml(
        message_id, now, Creditor(c.name, c.iban, c.bic, c.creditor_id), request.collection_date, lines
    )
    problems = schema_errors(xml)
    if problems:
        raise RuntimeError(f"the pain.008 file breaks the schema: {problems[:3]}")
    collection = SepaCollection(
        id=collection_id,
        organisation_id=principal.organisation_id,
        message_id=message_id,
        collection_date=request.collection_date,
        count=len(lines),
        total_minor=sum(line.amount_minor for line in lines),
        xml=xml,
    )
    session.add(collection)
    session.flush()
    for debit, mandate in rows:
        debit.status, debit.collection_id = "submitted", collection.id
        mandate.first_collected_on = mandate.first_collected_on or request.collection_date
    session.flush()
    return collection


def debit_status(session: Session, key: str) -> tuple[str, str, str | None] | None:
    debit = session.execute(select(SepaDebit).where(SepaDebit.idempotency_key == key)).scalar_one_or_none()
    return None if debit is None else (debit.id, debit.status, debit.return_reason)

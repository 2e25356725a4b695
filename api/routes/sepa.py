"""SEPA direct debit: mandates per account, the collection run (pain.008 XML) and the returns import."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.payments import sepa, sepa_returns
from activities.payments.sepa import CollectionRequest, MandateRequest
from activities.payments.sepa_returns import ReturnsResult
from api.deps import IdempotentWriteDep, OperatorStaffDep, SessionDep, SettingsDep, StaffDep
from api.docs import BINARY, file_response
from api.errors import ApiError
from api.schemas.wallets import MandateOut
from domain.sepa_files import parse_returns
from domain.sepa_vault import IbanVault
from models.sepa import SepaCollection, SepaMandate

router = APIRouter(tags=["sepa"])
MAX_RETURNS_BYTES = 5_000_000


def mandate_out(mandate: SepaMandate) -> dict[str, Any]:
    fields = {c: getattr(mandate, c) for c in MandateOut.model_fields if hasattr(mandate, c)}
    return MandateOut(**fields).model_dump(mode="json")


@router.post(
    "/v1/accounts/{account_id}/sepa-mandates",
    status_code=201,
    response_model=MandateOut,
    summary="Record a signed SEPA mandate (IBAN and BIC validated); it becomes a payment method",
)
def create_mandate(
    account_id: str,
    body: MandateRequest,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
) -> Response:
    today = datetime.now(UTC).date()
    vault = IbanVault(settings.data_key)
    # The request fingerprint is stored: it must not be an unkeyed hash of the IBAN.
    payload = {**body.model_dump(mode="json"), "iban": vault.digest(body.iban)}
    return write(
        payload,
        lambda session: mandate_out(sepa.create_mandate(session, principal, account_id, body, today, vault)),
    )


def _xml(collection: SepaCollection) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{collection.message_id}.xml"',
        "X-Collection-Id": collection.id,
        "X-Collection-Count": str(collection.count),
        "X-Collection-Total-Minor": str(collection.total_minor),
    }
    return Response(collection.xml, media_type="application/xml", headers=headers)


@router.post(
    "/v1/sepa/collections",
    status_code=201,
    summary="Collect every pending SEPA debit: the pain.008.001.02 file for the bank",
    response_class=Response,
    responses={201: file_response("application/xml", "pain.008.001.02 XML")},
)
def run_collection(
    body: CollectionRequest,
    principal: OperatorStaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    session: SessionDep,
) -> Response:
    now = datetime.now(UTC)

    def produce(tx: Session) -> dict[str, Any]:
        vault = IbanVault(settings.data_key)
        return {"collection_id": sepa.run_collection(tx, principal, body, now, vault).id}

    stored = write.store(body, produce)
    collection = session.get(SepaCollection, stored.body["collection_id"])
    assert collection is not None
    response = _xml(collection)
    response.status_code = 201
    return response


@router.post(
    "/v1/sepa/returns",
    response_model=ReturnsResult,
    summary="Import the bank's returns/rejects (pain.002 XML or CSV end_to_end_id,reason_code)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/xml": {"schema": BINARY},
                "text/csv": {"schema": BINARY},
            }
        }
    },
)
async def import_returns(
    request: Request, principal: OperatorStaffDep, write: IdempotentWriteDep
) -> Response:
    raw = await request.body()
    if len(raw) > MAX_RETURNS_BYTES:
        raise ApiError(413, "payload_too_large", f"a returns file is at most {MAX_RETURNS_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "returns_file_invalid", "the returns file is not UTF-8 text") from None
    lines = parse_returns(text)
    today = datetime.now(UTC).date()

    def produce(session: Session) -> dict[str, Any]:
        return sepa_returns.import_returns(session, principal, lines, today).model_dump(mode="json")

    payload = {"lines": [[r.end_to_end_id, r.reason_code] for r in lines]}
    return await run_in_threadpool(write, payload, produce, status=200)

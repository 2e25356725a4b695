"""Idempotent POST: the same key and body replay the stored response; another body is a conflict."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.errors import ApiError
from models.idempotency import IdempotencyRecord


@dataclass(frozen=True)
class StoredResponse:
    """A response to send: ``body`` keeps the stored key order, so rendering it again gives ``raw``."""

    status: int
    body: dict[str, Any]
    replayed: bool
    raw: bytes


def render_json(body: Any) -> str:
    """JSON text exactly as FastAPI's JSONResponse renders it (compact, UTF-8, keys in dict order)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def fingerprint(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps({"m": method, "p": path, "b": payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    session: Session,
    *,
    organisation_id: str,
    key: str,
    method: str,
    path: str,
    payload: Any,
    produce: Callable[[], tuple[int, dict[str, Any]]],
) -> StoredResponse:
    """Run ``produce`` once per (organisation, key) inside the caller's transaction.

    The key row is inserted first; a concurrent request with the same key waits on the unique index
    until the first commits, then replays its response. If ``produce`` fails, the transaction rolls
    back and the key is free again.
    """
    digest = fingerprint(method, path, payload)
    inserted = session.execute(
        insert(IdempotencyRecord)
        .values(organisation_id=organisation_id, key=key, method=method, path=path, request_hash=digest)
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    ).first()
    if inserted is None:
        record = session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.organisation_id == organisation_id, IdempotencyRecord.key == key
            )
        ).scalar_one()
        if record.request_hash != digest:
            raise ApiError(
                409,
                "idempotency_key_reused",
                f"Idempotency-Key {key!r} was already used for a different request "
                f"({record.method} {record.path}); use a new key for a new operation",
            )
        assert record.status_code is not None and record.response_body is not None
        stored_body = json.loads(record.response_body)  # dicts keep the stored key order
        return StoredResponse(record.status_code, stored_body, True, record.response_body.encode())
    status, body = produce()
    text = render_json(body)
    record = session.execute(
        select(IdempotencyRecord).where(
            IdempotencyRecord.organisation_id == organisation_id, IdempotencyRecord.key == key
        )
    ).scalar_one()
    record.status_code = status
    record.response_body = text
    return StoredResponse(status, body, False, text.encode())

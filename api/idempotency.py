"""Idempotent POST: the same key and body replay the stored response; another body is a conflict.

Routes use :class:`IdempotentWrite` (``api.deps.IdempotentWriteDep``); ``run_once`` is the mechanism under it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.errors import ApiError
from models.base import core, unit_of_work
from models.idempotency import IdempotencyRecord

REPLAYED_HEADER = "Idempotent-Replayed"

# Every POST runs these two; built once (building a statement is ~1/3 of executing it in SQLAlchemy), on
# the Core table (models.base.core: through the mapped class they cost 450 against 165 us of CPU).
_KEYS = core(IdempotencyRecord)
_CLAIM_KEY = (
    insert(_KEYS)
    .values(
        organisation_id=bindparam("organisation_id"),
        key=bindparam("key"),
        method=bindparam("method"),
        path=bindparam("path"),
        request_hash=bindparam("request_hash"),
    )
    .on_conflict_do_nothing()
    .returning(_KEYS.c.key)
)
_KEEP_RESPONSE = (
    update(_KEYS)
    .where(_KEYS.c.organisation_id == bindparam("p_organisation_id"), _KEYS.c.key == bindparam("p_key"))
    .values(status_code=bindparam("p_status"), response_body=bindparam("p_body"))
)


@dataclass(frozen=True)
class StoredResponse:
    """A response to send: ``body`` keeps the stored key order, so rendering it again gives ``raw``."""

    status: int
    body: dict[str, Any]
    replayed: bool
    raw: bytes

    @property
    def headers(self) -> dict[str, str]:
        """``Idempotent-Replayed: true`` on a replay, nothing on the first answer."""
        return {REPLAYED_HEADER: "true"} if self.replayed else {}

    def response(self) -> Response:
        """The answer to send: the stored JSON bytes (with :attr:`headers`)."""
        return Response(
            self.raw, status_code=self.status, media_type="application/json", headers=self.headers
        )


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
    claim = {"organisation_id": organisation_id, "key": key, "method": method, "path": path}
    inserted = session.execute(_CLAIM_KEY, {**claim, "request_hash": digest}).first()
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
    # One UPDATE of the row inserted above (no ORM load and flush: a round trip fewer per write).
    session.execute(
        _KEEP_RESPONSE,
        {"p_organisation_id": organisation_id, "p_key": key, "p_status": status, "p_body": text},
    )
    return StoredResponse(status, body, False, text.encode())


Produce = Callable[[Session], dict[str, Any]]
"""What a write does in its transaction; it returns the response body (JSON types only)."""


@dataclass(frozen=True)
class IdempotentWrite:
    """One POST's write, run at most once per (organisation, Idempotency-Key), in its own transaction.

    ``write(payload, produce)`` fingerprints ``payload`` (the request as it identifies the operation),
    runs ``produce(session)`` unless the key was seen, commits, and answers the stored response (201 by
    default). ``write.store(...)`` does the same but hands back the :class:`StoredResponse`, for a route
    that acts on what was written (starts a process) before answering ``stored.response()``. The
    transaction has committed when either returns. Blocking: an ``async`` route calls it through
    ``run_in_threadpool``.
    """

    database_url: str
    organisation_id: str
    key: str
    path: str

    def store(
        self,
        payload: BaseModel | Any,
        produce: Produce,
        *,
        status: int = 201,
        on_replay: Callable[[Session, dict[str, Any]], None] | None = None,
    ) -> StoredResponse:
        """``on_replay(session, stored_body)`` runs in the same transaction when the key was seen before."""
        if isinstance(payload, BaseModel):
            payload = payload.model_dump(mode="json")
        with unit_of_work(self.database_url) as session:
            stored = run_once(
                session,
                organisation_id=self.organisation_id,
                key=self.key,
                method="POST",
                path=self.path,
                payload=payload,
                produce=lambda: (status, produce(session)),
            )
            if stored.replayed and on_replay is not None:
                on_replay(session, stored.body)
            return stored

    def __call__(self, payload: BaseModel | Any, produce: Produce, *, status: int = 201) -> Response:
        return self.store(payload, produce, status=status).response()

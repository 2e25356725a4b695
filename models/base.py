"""Declarative base, engine and the unit of work (a session that rolls back unless committed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import cast

from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def core(model: type[Base]) -> Table:
    """``model``'s table, for INSERT and UPDATE statements on hot paths.

    The same statement on the mapped class goes through the ORM's bulk persistence (parameter
    handling per mapper, session synchronisation): ~245 against ~133 µs of CPU per single-row INSERT,
    450 against 165 µs per idempotency claim and response (``/tmp`` harnesses, 2026-12-02). The session
    still autoflushes before a Core statement (SQLAlchemy 2.0), so its rows may name objects added in
    the same transaction (tests/integration/test_core_writes.py); it does not update objects the
    session holds: use it where nothing loaded reads the changed columns."""
    return cast(Table, model.__table__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One pooled engine per database URL, created on first use (never at import time)."""
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, future=True)


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker[Session]:
    # Every table module must be imported before the first flush, or foreign keys to tables nobody
    # imported yet cannot be resolved (a worker process imports only the models its activities use).
    import models.all  # noqa: F401

    return sessionmaker(bind=engine_for(url), expire_on_commit=False)


@contextmanager
def unit_of_work(url: str) -> Iterator[Session]:
    """A transaction: commits when the block ends normally, rolls back on any exception."""
    session = _factory(url)()
    try:
        with session.begin():
            yield session
    finally:
        session.close()

"""A peer's SQL database (FreeRADIUS, Kamailio): one lazily created engine per adapter, never at import."""

from __future__ import annotations

import threading

import sqlalchemy as sa


class SqlPeer:
    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> sa.Engine:
        with self._lock:
            if self._engine is None:
                self._engine = sa.create_engine(self.url, pool_pre_ping=True, pool_size=2, max_overflow=4)
            return self._engine

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

"""Import every table module so ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from models import accounts, catalog, idempotency, organisations, subscriptions
from models.base import Base

__all__ = ["Base", "accounts", "catalog", "idempotency", "organisations", "subscriptions"]

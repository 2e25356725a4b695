"""Import every table module so ``Base.metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from models import (
    accounts,
    billing,
    catalog,
    devices,
    events,
    idempotency,
    kamailio,
    offers,
    organisations,
    partners,
    payments,
    radius,
    segments,
    sepa,
    subscriptions,
    usage,
    vouchers,
    wallets,
    webhooks,
)
from models.base import Base

__all__ = [
    "Base",
    "accounts",
    "billing",
    "catalog",
    "devices",
    "events",
    "idempotency",
    "kamailio",
    "offers",
    "organisations",
    "partners",
    "payments",
    "radius",
    "segments",
    "sepa",
    "subscriptions",
    "usage",
    "vouchers",
    "wallets",
    "webhooks",
]

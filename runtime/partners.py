"""The partner providers this deployment knows (see integrations/partners/registry.py). A provider opens no
connection until an operator's ``PartnerConnection`` is used (activities/partners/sessions.py)."""

from __future__ import annotations

from integrations.partners.registry import build_partner_registry

__all__ = ["build_partner_registry"]

"""Video through a CAS/OTT entitlement API (see ``simulator`` for the documented protocol)."""

from integrations.provisioning.ott.adapter import OttAdapter, OttConfig

__all__ = ["OttAdapter", "OttConfig"]

"""Broadband through FreeRADIUS: credentials and speed profiles in its SQL tables, Disconnect-Messages."""

from integrations.provisioning.radius.adapter import RadiusAdapter, RadiusConfig

__all__ = ["RadiusAdapter", "RadiusConfig"]

"""Telephony: SIP accounts in Kamailio's database (subscriber, grp, usr_preferences)."""

from integrations.provisioning.voip.adapter import KamailioAdapter, KamailioConfig

__all__ = ["KamailioAdapter", "KamailioConfig"]

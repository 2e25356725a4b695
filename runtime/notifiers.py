"""The notification channels this deployment has: SMTP always, then every installed package's channel
published under the ``multibill.notifiers`` entry point. ``MULTIBILL_NOTIFIER`` chooses the one notices
go through."""

from __future__ import annotations

from integrations.notify.base import Notifier, NotifierRegistry
from integrations.notify.smtp import SmtpNotifier
from runtime.settings import Settings

__all__ = ["NotifierRegistry", "build_notifiers", "chosen_notifier"]


def build_notifiers(settings: Settings) -> NotifierRegistry:
    registry = NotifierRegistry()
    registry.register(
        "smtp", SmtpNotifier(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender)
    )
    registry.load_entry_points(settings)
    return registry


def chosen_notifier(settings: Settings, registry: NotifierRegistry) -> Notifier:
    """The channel ``settings.notifier`` names; SMTP when that channel's plug-in is disabled or missing
    (logged by the loader), so notices still go out."""
    try:
        return registry.get(settings.notifier)
    except LookupError:
        return registry.get("smtp")

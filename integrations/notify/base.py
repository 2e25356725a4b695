"""What every notifier offers: send one message described by an ``EmailMessageSpec``; the channels by name.

SMTP is built in; other channels (chat, SMS, push) come from packages through the ``multibill.notifiers``
entry point: a factory taking the settings and returning an object with ``name`` and ``send_email``.
``MULTIBILL_NOTIFIER`` chooses the channel notices go through (``smtp`` by default).
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from integrations.plugins import BUILT_IN, DisabledPlugin, PluginNameTaken, load_plugins


class Attachment(BaseModel):
    """A file attached to an email (an invoice's PDF)."""

    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str = Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")
    content: bytes


class EmailMessageSpec(BaseModel):
    """One email. ``message_id`` is the idempotency key: a retry sends the same Message-ID."""

    model_config = ConfigDict(frozen=True)

    to: str = Field(min_length=3)
    subject: str
    text: str
    html: str | None = None
    message_id: str = Field(description="RFC 5322 Message-ID including the angle brackets")
    attachments: tuple[Attachment, ...] = ()


class NotifyError(Exception):
    """A notification could not be delivered."""


class NotifierUnavailable(NotifyError):
    """The peer could not be reached or failed temporarily: worth retrying."""


class MessageRejected(NotifyError):
    """The peer refused this message for good (bad recipient, policy): retrying will not help."""


class Notifier(Protocol):
    def send_email(self, message: EmailMessageSpec) -> None:
        """Deliver one email or raise ``NotifierUnavailable`` / ``MessageRejected``."""
        ...


class NamedNotifier(Notifier, Protocol):
    name: str


class NotifierRegistry:
    """Notification channels by name. A name is taken once (``PluginNameTaken`` names both packages); a
    plug-in whose factory raises is listed in ``disabled``."""

    ENTRY_POINT_GROUP = "multibill.notifiers"

    def __init__(self) -> None:
        self._notifiers: dict[str, Notifier] = {}
        self._packages: dict[str, str] = {}
        self.disabled: list[DisabledPlugin] = []

    def register(self, name: str, notifier: Notifier, *, package: str = BUILT_IN) -> None:
        if name in self._notifiers:
            raise PluginNameTaken("notifier", name, self._packages[name], package)
        self._notifiers[name] = notifier
        self._packages[name] = package

    def get(self, name: str) -> Notifier:
        try:
            return self._notifiers[name]
        except KeyError:
            known = ", ".join(sorted(self._notifiers)) or "none"
            raise LookupError(f"no notifier {name!r} is registered (registered: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._notifiers)

    def load_entry_points(self, settings: Any) -> None:
        """Register the channels installed packages publish (``factory(settings)``, with a ``name``)."""
        for plugin in load_plugins(self.ENTRY_POINT_GROUP, settings, self.disabled):
            notifier: NamedNotifier = plugin.value
            self.register(notifier.name, notifier, package=plugin.package)

"""What every notifier offers: send one email described by an ``EmailMessageSpec``."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class EmailMessageSpec(BaseModel):
    """One email. ``message_id`` is the idempotency key: a retry sends the same Message-ID."""

    model_config = ConfigDict(frozen=True)

    to: str = Field(min_length=3)
    subject: str
    text: str
    html: str | None = None
    message_id: str = Field(description="RFC 5322 Message-ID including the angle brackets")


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

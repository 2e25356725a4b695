"""Email over SMTP with the standard library (blocking: call it from a sync activity)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from integrations.notify.base import EmailMessageSpec, MessageRejected, NotifierUnavailable

DEFAULT_TIMEOUT_SECONDS = 15.0


class SmtpNotifier:
    """Sends each email on its own SMTP connection (STARTTLS and login only when configured)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout
        self.starttls = starttls
        self.username = username
        self.password = password
        # smtplib's own STARTTLS default does not verify the server's certificate: this one does.
        self.tls_context = tls_context

    @property
    def peer(self) -> str:
        return f"{self.host}:{self.port}"

    def send_email(self, message: EmailMessageSpec) -> None:
        email = build_email(message, sender=self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.tls_context or ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as err:
            raise MessageRejected(f"SMTP server {self.peer} refused recipient {message.to}: {err}") from err
        except smtplib.SMTPResponseException as err:
            if 500 <= err.smtp_code < 600:
                raise MessageRejected(
                    f"SMTP server {self.peer} rejected the message ({err.smtp_code}): {err.smtp_error!r}"
                ) from err
            raise NotifierUnavailable(
                f"SMTP server {self.peer} failed temporarily ({err.smtp_code}): {err.smtp_error!r}"
            ) from err
        except (OSError, smtplib.SMTPException) as err:
            raise NotifierUnavailable(f"cannot send email via SMTP server {self.peer}: {err}") from err


def build_email(message: EmailMessageSpec, *, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = formatdate(localtime=False, usegmt=True)
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        email.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return email

"""Email over SMTP with the standard library (blocking: call it from a sync activity).

Connections are kept and reused: a bill run's or a dunning wave's notices no longer open a connection
each (with STARTTLS and login, a TLS handshake and an AUTH per email). A notifier keeps at most
``MAX_IDLE`` idle connections, shared by the worker's activity threads (each send takes one for
itself); one idle longer than ``REUSE_SECONDS`` is closed instead of reused, and a kept one is checked
with ``NOOP`` first: a connection the server dropped meanwhile is replaced before the message is sent,
so a send is never tried twice on a dead connection.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate

from integrations.notify.base import EmailMessageSpec, MessageRejected, NotifierUnavailable

DEFAULT_TIMEOUT_SECONDS = 15.0
MAX_IDLE = 4  # idle connections a notifier keeps
REUSE_SECONDS = 30.0  # well under the usual server idle timeouts (Postfix: 300 s)


class SmtpNotifier:
    """Sends emails over reused SMTP connections (STARTTLS and login only when configured)."""

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
        self._idle: list[tuple[float, smtplib.SMTP]] = []  # (monotonic time it was given back, connection)
        self._lock = threading.Lock()

    @property
    def peer(self) -> str:
        return f"{self.host}:{self.port}"

    def send_email(self, message: EmailMessageSpec) -> None:
        email = build_email(message, sender=self.sender)
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._take()
            smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as err:
            self._give(smtp)  # smtplib has reset the transaction: the connection serves the next one
            raise MessageRejected(f"SMTP server {self.peer} refused recipient {message.to}: {err}") from err
        except smtplib.SMTPResponseException as err:
            _close(smtp)
            if 500 <= err.smtp_code < 600:
                raise MessageRejected(
                    f"SMTP server {self.peer} rejected the message ({err.smtp_code}): {err.smtp_error!r}"
                ) from err
            raise NotifierUnavailable(
                f"SMTP server {self.peer} failed temporarily ({err.smtp_code}): {err.smtp_error!r}"
            ) from err
        except (OSError, smtplib.SMTPException) as err:
            _close(smtp)
            raise NotifierUnavailable(f"cannot send email via SMTP server {self.peer}: {err}") from err
        self._give(smtp)

    def close(self) -> None:
        """Close the idle connections (a worker shutting down)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, smtp in idle:
            _quit(smtp)

    def _take(self) -> smtplib.SMTP:
        """An idle connection that still answers, else a new one."""
        while True:
            with self._lock:
                if not self._idle:
                    break
                since, smtp = self._idle.pop()
            if time.monotonic() - since <= REUSE_SECONDS and _alive(smtp):
                return smtp
            _quit(smtp)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            _close(smtp)
            raise
        return smtp

    def _give(self, smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append((time.monotonic(), smtp))
                return
        _quit(smtp)


def _alive(smtp: smtplib.SMTP) -> bool:
    try:
        return smtp.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        _close(smtp)


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


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

from __future__ import annotations

import pytest

from integrations.notify.base import EmailMessageSpec, NotifierUnavailable
from integrations.notify.smtp import SmtpNotifier
from tests.support.ports import free_port
from tests.support.smtp import SmtpSink

SENDER = "Multibill <no-reply@multibill.local>"


def spec(to: str, **extra: str) -> EmailMessageSpec:
    return EmailMessageSpec.model_validate(
        {
            "to": to,
            "subject": "Prueba de envío",
            "text": "Hola, ¿qué tal?\n",
            "message_id": "<m-1@multibill.local>",
        }
        | extra
    )


def test_sends_plain_email_to_a_real_smtp_server(smtp_server: SmtpSink) -> None:
    notifier = SmtpNotifier(host=smtp_server.host, port=smtp_server.port, sender=SENDER, timeout=5)
    notifier.send_email(spec("plain.notify@example.com"))

    [received] = smtp_server.to("plain.notify@example.com")
    assert received["From"] == SENDER
    assert received["Message-ID"] == "<m-1@multibill.local>"
    body = received.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert body.decode(received.get_content_charset() or "utf-8").splitlines() == ["Hola, ¿qué tal?"]


def test_sends_html_alternative(smtp_server: SmtpSink) -> None:
    notifier = SmtpNotifier(host=smtp_server.host, port=smtp_server.port, sender=SENDER, timeout=5)
    notifier.send_email(spec("html.notify@example.com", html="<p>Hola</p>"))

    [received] = smtp_server.to("html.notify@example.com")
    assert received.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in received.walk()][1:] == ["text/plain", "text/html"]


def test_closed_port_raises_an_error_naming_the_server() -> None:
    port = free_port()  # bound then released: nothing listens there
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender=SENDER, timeout=2)
    with pytest.raises(NotifierUnavailable, match=rf"SMTP server 127\.0\.0\.1:{port}"):
        notifier.send_email(spec("nobody@example.com"))

"""SMS delivery reports: applied once, in any order. A report names our message by its ``reference``
(our id, known even before the send was recorded) or by the gateway's message id. A final state
(delivered, failed, expired, rejected) is kept; a repeat of it, or a non-final state arriving after it
(out of order), changes nothing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.notify.sms.client import SIGNATURE_HEADER, DeliveryReport, parse_report, verify_report
from models.base import utcnow
from models.notifications import NotificationMessage

FINAL = frozenset({"delivered", "failed"})


def apply_report(session: Session, report: DeliveryReport) -> tuple[str | None, bool]:
    """The message's id and whether the report changed it."""
    message = None
    if report.reference and report.reference.startswith("ntm_"):
        message = session.get(NotificationMessage, report.reference, with_for_update=True)
    if message is None:
        message = session.execute(
            select(NotificationMessage)
            .where(NotificationMessage.provider_message_id == report.message_id)
            .with_for_update()
        ).scalar_one_or_none()
    if message is None or message.channel != "sms":
        return None, False
    if message.provider_message_id is None:
        message.provider_message_id = report.message_id
    if message.status in FINAL or not report.final:
        return message.id, False
    message.status = "delivered" if report.status == "delivered" else "failed"
    message.last_error = None if report.status == "delivered" else f"{report.status}: {report.error_code}"
    message.updated_at = utcnow()
    return message.id, True


class ReportRefused(Exception):
    """A delivery report that is not signed by the gateway (401) or is not a report (400)."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def checked_report(secret: str, signature: str, body: bytes) -> DeliveryReport:
    """The report in ``body`` if ``signature`` (X-SMS-Signature) signs it with ``secret``."""
    if not secret or not verify_report(secret, signature, body):
        raise ReportRefused(401, "invalid_signature", "The delivery report's signature does not match")
    try:
        return parse_report(body)
    except ValueError as exc:
        raise ReportRefused(400, "invalid_report", str(exc)) from None


__all__ = ["SIGNATURE_HEADER", "ReportRefused", "apply_report", "checked_report"]

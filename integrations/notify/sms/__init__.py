"""SMS through an HTTP SMS gateway (the common shape: send → message id, delivery reports by callback)."""

from integrations.notify.sms.client import (
    SIGNATURE_HEADER,
    DeliveryReport,
    SmsGateway,
    parse_report,
    sign,
    verify_report,
)

__all__ = ["SIGNATURE_HEADER", "DeliveryReport", "SmsGateway", "parse_report", "sign", "verify_report"]

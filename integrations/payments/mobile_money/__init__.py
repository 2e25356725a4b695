"""Mobile-money push payments (see ``simulator`` for the documented protocol, ``client`` to speak it)."""

from integrations.payments.mobile_money.client import (
    Acknowledgement,
    MobileMoneyClient,
    MobileMoneyError,
    Outcome,
    PushRequest,
    ResultCode,
    parse_callback,
    verify_callback,
)

__all__ = [
    "Acknowledgement",
    "MobileMoneyClient",
    "MobileMoneyError",
    "Outcome",
    "PushRequest",
    "ResultCode",
    "parse_callback",
    "verify_callback",
]

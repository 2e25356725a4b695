"""The mobile-money gateway's push log over our database (``integrations/payments/mobile_money/gateway.py``):
which checkout request was sent for which idempotency key, so a retry asks for that request's outcome
instead of prompting the phone again, and a callback finds its payment by key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from integrations.payments.mobile_money.gateway import MobileMoneyConfig, MobileMoneyGateway
from models.base import unit_of_work, utcnow
from models.payments import MobileMoneyRequest
from runtime.settings import Settings


class SqlPushLog:
    def __init__(self, url: str) -> None:
        self.url = url

    def remember(self, key: str, checkout_request_id: str, msisdn: str) -> None:
        with unit_of_work(self.url) as session:
            session.execute(
                insert(MobileMoneyRequest)
                .values(
                    idempotency_key=key,
                    checkout_request_id=checkout_request_id,
                    msisdn=msisdn,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
                .on_conflict_do_update(
                    index_elements=["idempotency_key"],
                    set_={"checkout_request_id": checkout_request_id, "updated_at": utcnow()},
                )
            )

    def checkout_of(self, key: str) -> str | None:
        with unit_of_work(self.url) as session:
            return session.execute(
                select(MobileMoneyRequest.checkout_request_id).where(
                    MobileMoneyRequest.idempotency_key == key
                )
            ).scalar_one_or_none()

    def key_of(self, checkout_request_id: str) -> str | None:
        with unit_of_work(self.url) as session:
            return session.execute(
                select(MobileMoneyRequest.idempotency_key).where(
                    MobileMoneyRequest.checkout_request_id == checkout_request_id
                )
            ).scalar_one_or_none()


def mobile_money_gateway(settings: Settings) -> MobileMoneyGateway | None:
    """The gateway when ``MULTIBILL_MOBILE_MONEY_BASE_URL`` is set (and the database it logs to)."""
    if not settings.mobile_money_base_url or not settings.database_url:
        return None
    callback = (
        settings.mobile_money_callback_url or f"{settings.public_url.rstrip('/')}/v1/webhooks/mobile_money"
    )
    config = MobileMoneyConfig(
        base_url=settings.mobile_money_base_url,
        consumer_key=settings.mobile_money_consumer_key,
        consumer_secret=settings.mobile_money_consumer_secret,
        callback_secret=settings.mobile_money_callback_secret,
        callback_url=callback,
        timeout_seconds=settings.mobile_money_timeout_seconds,
    )
    return MobileMoneyGateway(config, SqlPushLog(settings.database_url))

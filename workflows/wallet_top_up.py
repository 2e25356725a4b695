"""WalletTopUp: a top-up by card — charge the card, then credit the wallet — one process per request
(its id derived from the request's Idempotency-Key), so a retried request neither charges nor credits twice.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.wallets.io import CardTopUp, TopUpCredit, TopUpCredited, WalletTopUpActivities
    from domain.telephony import MOBILE_MONEY
    from workflows.common import DB_RETRY, GATEWAY_RETRY, PHONE_RETRY, show_details

# A caller is waiting: a gateway that is down is reported rather than retried for long; the charge is
# looked up by key first, so the caller's retry with the same key never charges twice.
# A push payment (mobile money) waits for the subscriber's PIN: its charge is retried (each retry a status
# query, never a new push) for as long as the phone's prompt can stay open, then a little longer.
PUSH_PAYMENTS_WAIT = "wallet-top-up-waits-for-the-phone"
PUSH_GATEWAYS = frozenset({MOBILE_MONEY})


@workflow.defn(name="WalletTopUp")
class WalletTopUpWorkflow:
    """Charge the card, then credit the wallet with what was charged."""

    @workflow.run
    async def run(self, top_up: CardTopUp) -> TopUpCredited:
        show_details(f"Card top-up of account {top_up.account_id}'s {top_up.currency} wallet", "charging")
        retry = GATEWAY_RETRY
        if top_up.gateway in PUSH_GATEWAYS and workflow.patched(PUSH_PAYMENTS_WAIT):
            retry = PHONE_RETRY
        charged = await workflow.execute_activity_method(
            WalletTopUpActivities.charge,
            top_up,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=retry,
        )
        return await workflow.execute_activity_method(
            WalletTopUpActivities.credit,
            TopUpCredit(top_up=top_up, charged=charged),
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=DB_RETRY,
        )

"""The write routes a partner's keys may call (PARTNER_ROUTES, each with the reason), the HTTP methods
that write, and the key id behind a tenant's token: shared by the route-walking tests
(test_operator_only.py, test_cross_tenant_writes.py)."""

from __future__ import annotations

from activities.accounts.organisations import authenticate
from models.base import unit_of_work
from tests.support.factories import Tenant

WRITE_METHODS = ("post", "put", "patch", "delete")


# Routes a partner (or reseller, outlet) may call. Everything else is the operator's own business:
# the catalogue, rate decks, device models, rating and re-rating, bill runs and their schedules, the
# dunning ladder, voucher lots (minting money), provisioning tools, SEPA files for the operator's bank.
PARTNER_ROUTES: dict[tuple[str, str], str] = {
    # Public: the credential is a token or a signature, not an API key.
    ("post", "/v1/verifications"): "the emailed token is the credential",
    ("post", "/v1/devices/login"): "a subscriber's device logs in with its service secret",
    ("post", "/v1/subscriber-auth/registrations"): "a subscriber signs up: no key",
    ("post", "/v1/subscriber-auth/login"): "a subscriber's password is the credential",
    ("post", "/v1/subscriber-auth/logout"): "the subscriber's own session (staff keys: 403)",
    ("post", "/v1/subscriber-auth/login-links"): "e-mails the address's owner; no key",
    ("post", "/v1/subscriber-auth/login-links/redeem"): "the e-mailed token is the credential",
    ("post", "/v1/subscriber-auth/password-resets"): "e-mails the address's owner; no key",
    ("post", "/v1/subscriber-auth/password-resets/redeem"): "the e-mailed token is the credential",
    ("post", "/oauth/token"): "OAuth: the code with its PKCE verifier, or a refresh token, is the credential",
    ("post", "/oauth/revoke"): "OAuth: the token itself is the credential",
    ("post", "/v1/devices/logout"): "a subscriber's device logs out",
    ("post", "/v1/webhooks/stripe"): "signed by Stripe",
    ("post", "/v1/webhooks/{gateway}"): "signed by the gateway (a plug-in checks its own signature)",
    ("post", "/v1/partners/{provider}/charges"): "signed by the partner provider (its connection's secret)",
    ("post", "/v1/notifications/sms/reports"): "signed by the SMS gateway (delivery reports)",
    ("post", "/v1/provisioning/callbacks/mvno"): "signed by the MVNO host (order outcomes)",
    # Reads that use POST.
    ("post", "/v1/quotes"): "prices a basket; writes nothing",
    ("post", "/v1/usage/authorize"): "prepaid authorisation; writes nothing",
    # A partner manages its own subtree: its resellers and outlets, its staff's keys.
    ("post", "/v1/organisations"): "adds a reseller or outlet under the caller",
    ("patch", "/v1/organisations/{organisation_id}"): "names in its subtree; operator settings refused",
    ("post", "/v1/organisations/{organisation_id}/api-keys"): "keys for its own staff",
    ("delete", "/v1/organisations/{organisation_id}/api-keys/{key_id}"): "revokes its own staff's keys",
    # A partner sells to and cares for its own customers.
    ("post", "/v1/accounts"): "its own customers",
    ("patch", "/v1/accounts/{account_id}"): "its own customers",
    ("post", "/v1/subscriptions"): "onboards its own customers",
    ("post", "/v1/subscriptions/{subscription_id}/changes"): "its customers' plan changes",
    ("post", "/v1/subscriptions/{subscription_id}/{action}"): "suspend/resume/terminate its customers",
    ("delete", "/v1/subscriptions/{subscription_id}/changes/{change_id}"): "its customers' changes",
    ("post", "/v1/accounts/{account_id}/payment-methods"): "its customers' cards",
    ("post", "/v1/accounts/{account_id}/payment-methods/{method_id}/default"): "its customers' cards",
    ("post", "/v1/accounts/{account_id}/sepa-mandates"): "its customers' mandates",
    ("post", "/v1/payments"): "cash taken at its outlets",
    ("post", "/v1/payments/{payment_id}/refunds"): "refunds of payments in its subtree",
    ("post", "/v1/invoices/{invoice_id}/collect"): "collects its customers' invoices",
    ("post", "/v1/invoices/{invoice_id}/void"): "its customers' invoices (credit note)",
    ("post", "/v1/credit-notes"): "its customers' invoices",
    ("patch", "/v1/accounts/{account_id}/wallets/{currency}"): "its customers' wallet alerts",
    ("post", "/v1/accounts/{account_id}/wallets/{currency}/top-ups"): "tops up its customers' wallets",
    ("post", "/v1/vouchers/redeem"): "redeems a sold voucher for its customer",
    ("put", "/v1/usage/subscribers/{alias}"): "aliases of its customers' services",
    ("post", "/v1/usage"): "usage of its customers' services",
    ("post", "/v1/usage/imports"): "usage of its customers' services",
    ("post", "/v1/usage/radius"): "usage of its customers' services",
    # Stock held at its own outlets (devices and models stay the operator's).
    ("post", "/v1/warehouses"): "a stock room of an organisation in its subtree",
    ("post", "/v1/stock/movements"): "stock of warehouses in its subtree",
    ("post", "/v1/devices"): "receives serials into a warehouse of its subtree",
    ("post", "/v1/devices/{device_id}/state"): "devices in its warehouses",
    ("post", "/v1/devices/{device_id}/assign"): "dispatches devices to its customers",
    ("post", "/v1/devices/{device_id}/return"): "takes devices back from its customers",
    ("post", "/v1/devices/{device_id}/swap"): "swaps its customers' devices",
    ("post", "/v1/devices/credentials"): "service login secrets of its customers",
    # Customer care: its customers' tickets, and the tickets of queues it owns (categories, queues and
    # calendars stay the operator's).
    ("post", "/v1/tickets"): "raises tickets for its own customers",
    ("post", "/v1/tickets/{ticket_id}/transitions"): "works its customers' tickets",
    ("post", "/v1/tickets/{ticket_id}/comments"): "answers its customers' tickets",
    ("post", "/v1/tickets/{ticket_id}/assignment"): "assigns its customers' tickets",
    ("post", "/v1/tickets/{ticket_id}/attachments"): "attaches files to its customers' tickets",
    ("post", "/v1/tickets/{ticket_id}/invoice-hold"): "holds its customers' disputed invoices",
    ("post", "/v1/tickets/{ticket_id}/dispute-settlement"): "settles its customers' disputes (credit notes)",
    ("post", "/v1/tickets/{ticket_id}/cancellation"): "terminates its customers' subscriptions on request",
    ("post", "/v1/tickets/{ticket_id}/stolen-device"): "blocks and swaps its customers' stolen devices",
    ("put", "/v1/accounts/{account_id}/notification-preferences"): "its own customers' notification choices",
}


def key_id_of(database_url: str, tenant: Tenant) -> str:
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
    assert principal is not None
    return principal.key_id

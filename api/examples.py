"""One example request body per write operation, by operation id: shown in /docs, in generated SDKs'
docs and sent by the contract fuzzer. tests/integration/test_api_contract.py checks each against its
operation's request schema, so an example cannot drift from the contract."""

from __future__ import annotations

from typing import Any

ACC = "acc_01M8P64HPQ9FH2FKBFGN6183RW"
SUB = "sub_01M8P64HPQCZ70WA8KAVN28KTT"
SVC = "svc_01M8P64HPQGA12ZAG8PX3153HA"
INV = "inv_01M8P64HPQ3TA4RX9K2G0KAQB3"
ORG = "org_01M8P64HPQQETDP67W3T9XMQM4"
WHS = "whs_01M8P64HPQ0WZD8XA2527S9R7C"
DEV = "dev_01M8P64HPQM73761XZ9ABFA3Q8"
TQ = "tq_01M8P64HPQ9FH2FKBFGN6183RX"
BCAL = "bcal_01M8P64HPQ9FH2FKBFGN6183RY"

_ADDRESS = {
    "kind": "billing",
    "line1": "Calle Mayor 1",
    "city": "Madrid",
    "postal_code": "28013",
    "country": "ES",
}
_GROUPS = [
    {"start": 0, "rate": "0.20", "rate_unit": 60, "increment": 60},
    {"start": 60, "rate": "0.10", "rate_unit": 60, "increment": 1},
]
_PLAN: dict[str, Any] = {
    "code": "fibre-600",
    "name": "Fibre 600 Mb",
    "product_code": "fibre",
    "billing_period": "month",
    "billing_interval": 1,
    "phases": [
        {"kind": "trial", "duration": {"unit": "month", "count": 1}, "prices": {"EUR": "0"}},
        {"kind": "evergreen", "prices": {"EUR": "29.99"}},
    ],
    "usage": [
        {"metric": "data", "unit": "GB", "model": "per_unit", "prices": {"EUR": {"unit_price": "0.50"}}}
    ],
    "one_off_fees": [{"code": "setup", "name": "Installation", "prices": {"EUR": "25.00"}}],
    "addons": [{"plan_code": "tv-sports", "rule": "allowed"}],
    "effective_from": "2026-01-01",
}

_SEGMENT_RULE: dict[str, Any] = {
    "all": [
        {"field": "usage", "metric": "data", "op": "gt", "value": 10240, "period": {"last_months": 3}},
        {"field": "amount_paid", "currency": "EUR", "op": "gt", "value": 5000, "period": {"last_months": 3}},
        {"field": "tenure_months", "op": "gte", "value": 12},
        {"not": {"field": "late_payments", "op": "gte", "value": 1, "period": {"last_months": 12}}},
    ]
}
_IN_SPAIN = {"field": "country", "in": ["ES"]}

JSON_EXAMPLES: dict[str, Any] = {
    "organisations_add": {
        "name": "Fibra Norte",
        "kind": "partner",
        "country": "ES",
        "contact_email": "ops@fibranorte.example",
    },
    "webhooks_create_endpoint": {
        "url": "https://erp.example.com/multibill/events",
        "event_types": ["invoice.issued", "payment.failed"],
        "enabled": True,
    },
    "webhooks_update_endpoint": {"enabled": True},
    "partners_create_connection": {
        "provider": "netflix",
        "base_url": "https://partner-billing.netflix.example",
        "partner_id": "fibra-norte",
        "secret": "the secret Netflix gave you",
        "revenue_share_percent": "12.5",
        "time_zone": "Europe/Madrid",
    },
    "partners_update_connection": {"enabled": False},
    "partners_create_settlement": {"provider": "netflix", "month": "2026-03"},
    "partner_charges_run": {"provider": "netflix"},
    "notifications_save_trigger": {
        "event_pattern": "invoice.issued",
        "channels": ["email", "sms"],
        "ignore_quiet_hours": True,
        "quiet_start": "22:00:00",
        "quiet_end": "08:00:00",
    },
    "notifications_save_template": {
        "event_type": "invoice.issued",
        "channel": "email",
        "language": "es",
        "subject": "Su factura {{ data.number }}",
        "body_text": "Hola {{ account.display_name }}: {{ money(data.total_minor, data.currency) }}.",
    },
    "notifications_preview_template": {
        "event_type": "invoice.issued",
        "channel": "sms",
        "language": "en",
        "body_text": "Invoice {{ data.number }}: {{ money(data.total_minor, data.currency) }}",
    },
    "notifications_put_preferences": {"channels": ["email"], "marketing_opt_out": True},
    "organisations_update": {"name": "Fibra Norte SL", "rounding_mode": "half_even"},
    "organisations_add_api_key": {"role": "admin", "name": "billing back office"},
    "accounts_create": {
        "type": "person",
        "given_name": "Ana",
        "family_name": "Ruiz",
        "email": "ana.ruiz@example.com",
        "phone": "+34 600 123 456",
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "language": "es",
        "addresses": [_ADDRESS],
    },
    "accounts_update": {"email": "ana@example.org", "addresses": [_ADDRESS]},
    "catalog_add_product": {
        "code": "fibre",
        "name": "Fibre broadband",
        "kind": "broadband",
        "characteristics": [{"name": "download_speed", "type": "integer", "value": 600, "unit": "Mbit/s"}],
    },
    "catalog_add_plan": _PLAN,
    "catalog_add_plan_version": {
        **_PLAN,
        "effective_from": "2026-07-01",
        "existing_subscribers_until": "2026-12-31",
    },
    "catalog_add_bundle": {
        "code": "fibre-tv",
        "name": "Fibre and TV",
        "plan_codes": ["fibre-600", "tv-sports"],
        "discount_percent": "10",
    },
    "catalog_add_tax_rate": {"country": "ES", "category": "standard", "percent": "21", "name": "IVA 21%"},
    "catalog_add_price_list": {
        "code": "pt-eur",
        "country": "PT",
        "currency": "EUR",
        "tax_inclusive": True,
        "recurring": {"fibre-600": "27.50"},
    },
    "quotes_create": {
        "country": "ES",
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "bill_day": 1,
        "items": [{"plan": "fibre-600", "start": "2026-03-15", "periods": 3, "addons": ["tv-sports"]}],
    },
    "subscriptions_create": {
        "account_id": ACC,
        "items": [{"plan": "fibre-600", "addons": ["tv-sports"]}],
        "start_date": "2026-03-15",
        "bill_day": 1,
    },
    "subscriptions_change": {"type": "change_plan", "plan": "fibre-1000", "timing": "immediate"},
    "subscriptions_act_on": {"reason": "Customer on holiday", "timing": "immediate", "pause_billing": True},
    "verification_confirm": {"account_id": ACC, "token": "vt_3J9kQ2mX8pLw"},
    "stock_create_warehouse": {"code": "mad-central", "name": "Madrid central", "kind": "warehouse"},
    "stock_create_device_model": {
        "code": "zte-f680",
        "product_code": "ont",
        "manufacturer": "ZTE",
        "name": "F680 ONT",
    },
    "stock_create_movement": {
        "kind": "receive",
        "product_code": "sim",
        "quantity": 500,
        "to_warehouse_id": WHS,
    },
    "device_logins_issue_credential": {"service_id": SVC},
    "device_logins_login": {
        "account_id": ACC,
        "secret": "s3cret-device-pass",
        "device_id": "tv-livingroom-01",
        "device_name": "Living room TV",
    },
    "device_logins_logout": {
        "account_id": ACC,
        "secret": "s3cret-device-pass",
        "device_id": "tv-livingroom-01",
    },
    "device_swap_swap_device": {"reason": "faulty", "warehouse_id": WHS},
    "devices_receive": {
        "warehouse_id": WHS,
        "model": "zte-f680",
        "items": [{"serial": "ZTEG12345678", "mac": "00:1A:2B:3C:4D:5E"}],
    },
    "devices_change_state": {"state": "in_repair", "reason": "No optical signal"},
    "devices_assign": {"service_id": SVC},
    "devices_return": {"warehouse_id": WHS, "state": "in_stock"},
    "usage_admin_rating_run": {"limit": 10000},
    "usage_admin_rerate": {"subscription_id": SUB, "period_start": "2026-03-01"},
    "usage_admin_add_deck": {
        "effective_from": "2026-04-01T00:00:00Z",
        "deck": {
            "code": "voice",
            "currency": "EUR",
            "tariffs": {"std": {"connect_fee": "0.10", "groups": _GROUPS}},
            "destinations": [{"prefix": "34", "name": "Spain", "tariff": "std"}],
        },
    },
    "usage_admin_put_alias": {"alias": "+34600123456", "service_id": SVC},
    "usage_ingest_events": {
        "events": [
            {
                "client_event_id": "cdr-000001",
                "subscriber": SVC,
                "event_type": "voice",
                "quantity": 95,
                "started_at": "2026-03-20T10:15:00+01:00",
                "destination": "34911234567",
            }
        ]
    },
    "usage_ingest_accounting": {
        "records": [
            {
                "Acct-Status-Type": "Stop",
                "Acct-Session-Id": "5A1B2C3D",
                "User-Name": "ana@fibra",
                "Acct-Input-Octets": 104857600,
                "Acct-Output-Octets": 20971520,
                "Acct-Session-Time": 3600,
                "Event-Timestamp": "2026-03-20T11:00:00Z",
            }
        ]
    },
    "usage_authorize": {
        "subscriber": SVC,
        "event_type": "voice",
        "destination": "34911234567",
        "requested": 300,
    },
    "billing_runs_start_run": {"bill_day": 1, "period_date": "2026-04-01", "dry_run": False},
    "dunning_put_ladder": {
        "steps": [
            {"day": 0, "actions": ["retry", "notice:reminder"]},
            {"day": 7, "actions": ["retry", "notice:warning"]},
            {"day": 14, "actions": ["notice:final", "suspend"]},
            {"day": 45, "actions": ["terminate", "write_off"]},
        ]
    },
    "invoices_void": {"description": "Issued to the wrong account"},
    "credit_notes_create": {
        "invoice_id": INV,
        "reason": "goodwill",
        "description": "Outage on 12 March",
        "amount_minor": 500,
    },
    "payment_methods_add_method": {
        "kind": "card",
        "gateway": "stripe",
        "token": "pm_card_visa",
        "default": True,
    },
    "payments_record": {"account_id": ACC, "amount_minor": 3629, "currency": "EUR", "method": "cash"},
    "payments_create_refund": {"amount_minor": 1000, "reason": "Double payment"},
    "wallets_update": {"low_balance_threshold_minor": 500},
    "wallets_top_up": {"method": "cash", "amount_minor": 2000, "receipt": "R-000123"},
    "vouchers_create_lot": {"value_minor": 1000, "currency": "EUR", "expires_on": "2027-12-31", "count": 100},
    "vouchers_redeem": {"code": "7Q4K-9XPD-2MWA", "account_id": ACC},
    "offers_create": {
        "code": "spring20",
        "name": "20% off TV for three months",
        "kind": "discount",
        "currency": "EUR",
        "plan_code": "tv-basic",
        "percent": "20",
        "periods": 3,
        "segment_ids": ["seg_01J9ZK3D4W5X6Y7Z8A9B0C1D2E"],
        "channels": ["web", "care"],
        "starts_on": "2026-04-01",
        "ends_on": "2026-06-30",
        "total_cap": 1000,
        "per_account_cap": 1,
        "stacking": "stackable",
        "stack_group": "tv",
    },
    "offers_update": {"ends_on": "2026-07-31", "total_cap": 2000},
    "offers_accept": {"channel": "care"},
    "sepa_create_mandate": {
        "signed_on": "2026-03-01",
        "debtor_name": "Ana Ruiz",
        "iban": "ES9121000418450200051332",
        "make_default": True,
    },
    "sepa_run_collection": {
        "collection_date": "2026-04-05",
        "creditor": {
            "name": "Fibra Norte SL",
            "iban": "ES7921000813610123456789",
            "bic": "CAIXESBBXXX",
            "creditor_id": "ES98ZZZ09999999999",
        },
    },
    "care_create_calendar": {
        "name": "Madrid care desk",
        "timezone": "Europe/Madrid",
        "working_hours": {
            day: [["09:00", "14:00"], ["15:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
        },
        "holidays": ["2026-12-08", "2026-12-25"],
    },
    "care_update_calendar": {"holidays": ["2026-12-08", "2026-12-25", "2027-01-01"]},
    "care_create_queue": {
        "name": "First line",
        "next_queue_id": TQ,
        "supervisor": "care.lead@fibranorte.example",
    },
    "care_update_queue": {"supervisor": "care.lead@fibranorte.example"},
    "care_create_category": {
        "code": "technical_fault",
        "name": "Technical fault",
        "priority": "normal",
        "queue_id": TQ,
        "calendar_id": BCAL,
        "first_response_minutes": 60,
        "resolution_minutes": 480,
        "action": "none",
        "escalation_policy": {
            "warn_percent": 80,
            "levels": [
                {"at_percent": 100, "priority": "urgent", "next_queue": True, "notify_supervisor": True}
            ],
        },
    },
    "care_update_category": {"resolution_minutes": 960},
    "tickets_create": {
        "account_id": ACC,
        "category": "technical_fault",
        "subject": "No signal on the router since this morning",
        "description": "The router's DSL light blinks; restarted twice.",
        "subscription_id": SUB,
    },
    "tickets_transition": {"status": "waiting_on_customer", "note": "Asked for the router's serial"},
    "tickets_comment": {"body": "We have reset your line; please restart the router.", "public": True},
    "tickets_assign": {"assignee": "maria.lopez", "queue_id": TQ},
    "tickets_settle_dispute": {
        "outcome": "credit",
        "amount_minor": 1500,
        "description": "Charged twice in May",
    },
    "tickets_start_cancellation": {"timing": "end_of_term", "reason": "Moving abroad"},
    "tickets_block_stolen_device": {"warehouse_id": WHS},
    "tickets_attach": {
        "filename": "router.txt",
        "content_type": "text/plain",
        "content_base64": "RFNMIGxpZ2h0IGJsaW5rcw==",
    },
    "segments_create": {
        "code": "heavy-data-loyal",
        "name": "Heavy data users, loyal and paying",
        "rules": _SEGMENT_RULE,
    },
    "segments_preview": {"rules": _SEGMENT_RULE, "as_of": "2026-06-15"},
    "segments_update": {"name": "Heavy data users (Spain)", "rules": {"all": [_SEGMENT_RULE, _IN_SPAIN]}},
    "loyalty_put_programme": {"currency": "EUR", "point_value_minor": "0.5", "points_expiry_months": 12},
    "loyalty_create_rule": {
        "code": "triple-play",
        "name": "Triple play bonus",
        "definition": {
            "criterion": {"kind": "services", "product_kinds": ["video", "broadband", "telephony"]},
            "award": {"kind": "points", "points": 500},
            "frequency": "per_period",
        },
    },
    "loyalty_update_rule": {"active": False},
    "loyalty_start_run": {"period": "2026-10"},
    "loyalty_redeem": {"points": 200, "reward": "wallet_credit"},
    "loyalty_reverse": {"movement_id": "lpm_01M8P64HPQ0000000000000000", "reason": "awarded in error"},
    # the subscriber's own API (/v1/me/…)
    "subscriber_auth_register": {
        "email": "ana.ruiz@example.com",
        "password": "correct horse battery staple",
        "given_name": "Ana",
        "family_name": "Ruiz",
        "language": "es",
        "plan_code": "demo-tv-basic",
    },
    "subscriber_auth_login": {"email": "ana.ruiz@example.com", "password": "correct horse battery staple"},
    "subscriber_auth_request_login_link": {"email": "ana.ruiz@example.com"},
    "subscriber_auth_redeem_login_link": {"token": "Zq3v8P1mW0rKc2Xy7LdN4sTb9HgE6uAa"},
    "subscriber_auth_request_password_reset": {"email": "ana.ruiz@example.com"},
    "subscriber_auth_redeem_password_reset": {
        "token": "Zq3v8P1mW0rKc2Xy7LdN4sTb9HgE6uAa",
        "password": "a new long passphrase 2026",
    },
    "me_billing_subscribe": {"plan": "demo-tv-basic", "addons": ["demo-sports"]},
    "me_billing_quote_my_change": {"type": "change_plan", "plan": "demo-home"},
    "me_billing_change_my_subscription": {"type": "change_plan", "plan": "demo-home"},
    "me_account_update_my_account": {"phone": "+34 600 123 456", "language": "es"},
    "me_payments_pay_invoice": {"method": "card"},
    "me_payments_confirm_payment": {"payment_method_token": "pm_card_visa"},
    "me_payments_top_up_my_wallet": {"amount_minor": 2000, "payment_method_token": "pm_card_visa"},
    "me_payments_save_card": {"token": "pm_card_visa", "default": True},
    "branding_put": {
        "name": "Demo Telecom",
        "colours": {"primary": "#0b5cad", "on_primary": "#ffffff"},
        "footer_links": [{"label": "Terms", "url": "https://demo-telecom.example/terms"}],
        "support_email": "help@demo-telecom.example",
        "hosts": ["my.demo-telecom.example"],
        "default_language": "es",
    },
    "branding_put_logo": {
        "content_type": "image/png",
        "data_base64": (
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        ),
    },
    "me_rewards_redeem_voucher": {"code": "K7QM-4XPA-92HD-TW3E"},
    "me_rewards_accept_my_offer": {},
    "me_rewards_redeem_my_points": {"points": 200, "reward": "wallet_credit"},
    "me_care_raise_ticket": {
        "category": "no_signal",
        "subject": "No signal since Monday",
        "description": "The router's lights are off.",
        "subscription_id": SUB,
    },
    "me_care_reply": {"body": "I restarted it and it still fails."},
    "me_care_attach": {
        "filename": "router.txt",
        "content_type": "text/plain",
        "content_base64": "bGlnaHRzIG9mZg==",
    },
    "me_care_set_my_preferences": {"channels": ["email", "sms"], "marketing_opt_out": True, "language": "es"},
}
"""Operation id → an example JSON request body."""

FILE_EXAMPLES: dict[str, dict[str, str]] = {
    "oauth_token": {
        "application/x-www-form-urlencoded": (
            "grant_type=authorization_code&client_id=multibill-demo-app&code=Qm9vdHN0cmFw"
            "&redirect_uri=dev.multibill.app%3A%2Foauth%2Fcallback"
            "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        )
    },
    "oauth_revoke": {
        "application/x-www-form-urlencoded": (
            "token=8xLOxBtZp8&client_id=multibill-demo-app&token_type_hint=refresh_token"
        )
    },
    "usage_import_cdrs": {
        "text/csv": (
            "client_event_id,subscriber,started_at,quantity,destination\n"
            f"cdr-000001,{SVC},2026-03-20T10:15:00Z,95,34911234567\n"
        )
    },
    "sepa_import_returns": {
        "text/csv": "end_to_end_id,reason_code\nsdd_01M8P64HPQ0000000000000000,AC04\n",
        "application/xml": (
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>'
            "<OrgnlPmtInfAndSts><TxInfAndSts><OrgnlEndToEndId>sdd_01M8P64HPQ0000000000000000</OrgnlEndToEndId>"
            "<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf></TxInfAndSts>"
            "</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
        ),
    },
}
"""Operation id → media type → an example file body (CSV, XML)."""


def add_request_examples(spec: dict[str, Any]) -> None:
    """Put each operation's example into its request body's media types (``examples``)."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            op_id = operation.get("operationId", "")
            examples = {"application/json": JSON_EXAMPLES[op_id]} if op_id in JSON_EXAMPLES else {}
            examples |= FILE_EXAMPLES.get(op_id, {})
            for media_type, value in examples.items():
                if media_type in content:
                    content[media_type]["examples"] = {"example": {"summary": "An example", "value": value}}

"""SIM and phone-number rules (domain/telephony.py), the mobile-money gateway's mapping of result codes and
callbacks, and the MVNO adapter's choice of host order: pure, no network."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.provisioning import ProvisioningAction
from domain.telephony import (
    iccid_problem,
    imsi_problem,
    known_donor,
    line_digits,
    luhn_check_digit,
    msisdn_problem,
)
from integrations.payments.base import ChargeStatus, WebhookRejected
from integrations.payments.mobile_money.client import Outcome, ResultCode
from integrations.payments.mobile_money.gateway import MobileMoneyConfig, MobileMoneyGateway, result_of
from integrations.payments.mobile_money.simulator import sign
from integrations.provisioning.base import ProvisioningRequest
from integrations.provisioning.mvno.adapter import MvnoAdapter, MvnoConfig
from integrations.provisioning.mvno.simulator import iccid_valid
from integrations.provisioning.mvno.simulator import luhn_check_digit as simulator_luhn

SECRET = "cb-secret"


@given(st.text(alphabet="0123456789", min_size=17, max_size=18))
def test_an_iccid_with_its_check_digit_is_valid_and_any_other_digit_is_not(body: str) -> None:
    iccid = "89" + body
    iccid = iccid[:-1] + str(luhn_check_digit(iccid[:-1]))
    assert iccid_problem(iccid) is None
    assert iccid_valid(iccid)  # the host agrees
    wrong = iccid[:-1] + str((int(iccid[-1]) + 1) % 10)
    assert iccid_problem(wrong) == "the ICCID's Luhn check digit is wrong"


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_our_luhn_digit_is_the_hosts(digits: str) -> None:
    assert str(luhn_check_digit(digits)) == simulator_luhn(digits)


@pytest.mark.parametrize("iccid", ["", "8933", "1234567890123456789", "89330100000000000001234", "89abc"])
def test_malformed_iccids_are_refused(iccid: str) -> None:
    assert iccid_problem(iccid) == "an ICCID is 19 or 20 digits starting with 89"


def test_imsi_and_msisdn_rules() -> None:
    assert imsi_problem("208011234567890") is None
    assert imsi_problem("20801123456789") is not None
    assert msisdn_problem("+254712345678") is None
    assert msisdn_problem("0712345678") is not None
    assert msisdn_problem("+0712345678") is not None
    assert line_digits("+33612345678") == "33612345678"


def outcome(code: ResultCode | None) -> Outcome:
    return Outcome(
        "ws_CO_1", "mr_1", "+254712345678", code, "text", 1210, "KES", "RCPT1" if code == 0 else None
    )


@pytest.mark.parametrize(
    ("code", "status", "decline"),
    [
        (ResultCode.SUCCESS, ChargeStatus.SUCCEEDED, None),
        (None, ChargeStatus.PENDING, None),
        (ResultCode.INSUFFICIENT_FUNDS, ChargeStatus.DECLINED, "insufficient_funds"),
        (ResultCode.CANCELLED, ChargeStatus.DECLINED, "cancelled_by_user"),
        (ResultCode.TIMED_OUT, ChargeStatus.DECLINED, "timed_out"),
        (ResultCode.WRONG_PIN, ChargeStatus.DECLINED, "wrong_pin"),
    ],
)
def test_result_codes_map_to_charge_outcomes(
    code: ResultCode | None, status: ChargeStatus, decline: str | None
) -> None:
    result = result_of(outcome(code))
    assert result is not None
    assert (result.status, result.decline_code, result.gateway_reference) == (status, decline, "ws_CO_1")


def test_another_request_in_progress_is_as_if_never_sent() -> None:
    assert result_of(outcome(ResultCode.IN_PROGRESS)) is None


class MemoryLog:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    def remember(self, key: str, checkout_request_id: str, msisdn: str) -> None:
        self.keys[key] = checkout_request_id

    def checkout_of(self, key: str) -> str | None:
        return self.keys.get(key)

    def key_of(self, checkout_request_id: str) -> str | None:
        return next((k for k, v in self.keys.items() if v == checkout_request_id), None)


def gateway() -> MobileMoneyGateway:
    log = MemoryLog()
    log.remember("inv_1:attempt:1", "ws_CO_1", "+254712345678")
    config = MobileMoneyConfig("http://127.0.0.1:1", "k", "s", SECRET, "http://x/v1/webhooks/mobile_money")
    return MobileMoneyGateway(config, log)


def callback(code: int) -> bytes:
    return json.dumps(
        {
            "checkout_request_id": "ws_CO_1",
            "merchant_request_id": "mr_1",
            "msisdn": "+254712345678",
            "result_code": code,
            "result_description": "text",
            "amount": 1210 if code == 0 else None,
            "currency": "KES",
            "receipt_number": "RCPT1" if code == 0 else None,
        }
    ).encode()


def test_a_signed_callback_is_an_event_found_by_reference_and_key() -> None:
    body = callback(0)
    event = gateway().parse_webhook({"x-momo-signature": sign(SECRET, body, int(time.time()))}, body)
    assert (event.event_id, event.outcome, event.charge_reference, event.idempotency_key) == (
        "ws_CO_1:0",
        "succeeded",
        "ws_CO_1",
        "inv_1:attempt:1",
    )
    body = callback(1032)
    event = gateway().parse_webhook({"x-momo-signature": sign(SECRET, body, int(time.time()))}, body)
    assert (event.outcome, event.decline_code) == ("failed", "cancelled_by_user")
    body = callback(1001)
    event = gateway().parse_webhook({"x-momo-signature": sign(SECRET, body, int(time.time()))}, body)
    assert (event.outcome, event.decline_code) == (None, "request_in_progress")


@pytest.mark.parametrize(
    "signature",
    ["", "t=1,v1=00", f"t={int(time.time())},v1=deadbeef", sign("other", callback(0), int(time.time()))],
)
def test_a_callback_not_signed_with_our_secret_is_refused(signature: str) -> None:
    with pytest.raises(WebhookRejected):
        gateway().parse_webhook({"x-momo-signature": signature}, callback(0))


def test_a_stale_signature_is_refused() -> None:
    body = callback(0)
    with pytest.raises(WebhookRejected):
        gateway().parse_webhook({"x-momo-signature": sign(SECRET, body, int(time.time()) - 3600)}, body)


def mvno_request(action: ProvisioningAction, **device: str) -> ProvisioningRequest:
    return ProvisioningRequest(
        order_id="prv_1",
        idempotency_key="k",
        action=action,
        service_kind="mobile",
        account_id="acc_1",
        subscription_id="sub_1",
        service_id="svc_1",
        plan_code="m10",
        characteristics={"tariff_profile": "mvno-basic"},
        device=device or None,
    )


SIM = {"iccid": "8933010000000000016", "imsi": "208010000000001", "msisdn": "+33612345678"}


@pytest.mark.parametrize(
    ("action", "device", "expected"),
    [
        (
            ProvisioningAction.ACTIVATE,
            SIM,
            {"type": "activate", "msisdn": "33612345678", "iccid": SIM["iccid"], "imsi": SIM["imsi"]},
        ),
        (ProvisioningAction.SUSPEND, SIM, {"type": "suspend", "msisdn": "33612345678"}),
        (ProvisioningAction.RESUME, SIM, {"type": "resume", "msisdn": "33612345678"}),
        (ProvisioningAction.TERMINATE, SIM, {"type": "terminate", "msisdn": "33612345678"}),
        (
            ProvisioningAction.ACTIVATE,
            {**SIM, "swap": "install"},
            {"type": "swap_sim", "msisdn": "33612345678", "new_iccid": SIM["iccid"], "new_imsi": SIM["imsi"]},
        ),
        (ProvisioningAction.TERMINATE, {**SIM, "swap": "remove"}, None),
        (ProvisioningAction.CHANGE, SIM, None),
    ],
)
def test_the_mvno_adapter_chooses_the_hosts_order(
    action: ProvisioningAction, device: dict[str, str], expected: dict[str, str] | None
) -> None:
    fields = MvnoAdapter(MvnoConfig("http://127.0.0.1:1"))._order_fields(mvno_request(action, **device))
    if expected is None or expected["type"] != "activate":
        assert fields == expected
    else:
        assert fields == {**expected, "tariff_profile": "mvno-basic"}


def test_an_order_without_a_sim_fails_without_retrying() -> None:
    result = MvnoAdapter(MvnoConfig("http://127.0.0.1:1")).execute(mvno_request(ProvisioningAction.SUSPEND))
    assert (result.status, result.retryable) == ("failed", False)
    assert "needs the SIM's msisdn" in result.detail


def test_known_donors_are_matched_without_case_and_others_refused() -> None:
    assert known_donor("orange") == "Orange"
    assert known_donor("  FREE mobile ") == "Free Mobile"
    assert known_donor("Acme Mobile") is None
    assert known_donor("") is None


def test_a_port_in_becomes_a_host_port_in_order_with_its_authorisation_code() -> None:
    port = {"msisdn": "+33698765432", "donor_operator": "Orange", "port_date": "2030-01-02"}
    request = mvno_request(ProvisioningAction.ACTIVATE, **SIM).model_copy(
        update={"characteristics": {"tariff_profile": "mvno-basic", "port_in": port}}
    )
    fields = MvnoAdapter(MvnoConfig("http://127.0.0.1:1"))._order_fields(request)
    assert fields == {
        "type": "port_in",
        "msisdn": "33698765432",  # the ported number, not the SIM's own
        "iccid": SIM["iccid"],
        "imsi": SIM["imsi"],
        "tariff_profile": "mvno-basic",
        "donor_operator": "Orange",
        "port_date": "2030-01-02",
    }
    coded = request.model_copy(
        update={"characteristics": {"port_in": {**port, "authorisation_code": "PAC-1234"}}}
    )
    with_code = MvnoAdapter(MvnoConfig("http://127.0.0.1:1"))._order_fields(coded)
    assert with_code is not None and with_code["authorisation_code"] == "PAC-1234"


def test_mobile_money_plugs_in_through_the_gateway_contract_when_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib import metadata

    from integrations.payments.base import MethodRegistrar, StagedGateway, WebhookVerifier
    from runtime.payments import build_gateways
    from runtime.settings import Settings

    real = metadata.entry_points
    monkeypatch.setattr(
        metadata,
        "entry_points",
        lambda **params: (
            metadata.EntryPoints([]) if params.get("group") == "multibill.gateways" else real(**params)
        ),
    )
    database = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never connected to here
    assert "mobile_money" not in build_gateways(Settings(environment="test", database_url=database)).names()
    configured = Settings(
        environment="test",
        database_url=database,
        mobile_money_base_url="http://127.0.0.1:1",
        mobile_money_callback_secret=SECRET,
        public_url="https://billing.example",
    )
    gateways = build_gateways(configured)
    assert "mobile_money" in gateways.names()
    momo = gateways.get("mobile_money")
    for method in ("charge", "lookup", "refund"):  # what the collector calls on Stripe too
        assert callable(getattr(momo, method)), method
    assert isinstance(momo, WebhookVerifier) and isinstance(momo, MethodRegistrar)
    assert not isinstance(momo, StagedGateway)
    assert isinstance(momo, MobileMoneyGateway)
    assert momo.config.callback_url == "https://billing.example/v1/webhooks/mobile_money"


@pytest.mark.parametrize(
    "junk",
    [
        b"not json",
        b"[1, 2]",
        b"{}",
        json.dumps({**json.loads(callback(0)), "result_code": "zero"}).encode(),
        json.dumps({**json.loads(callback(0)), "result_code": 99}).encode(),
        json.dumps({**json.loads(callback(0)), "checkout_request_id": "x" * 201}).encode(),
    ],
)
def test_a_signed_callback_that_is_not_one_is_rejected_not_a_crash(junk: bytes) -> None:
    with pytest.raises(WebhookRejected, match="not a mobile money callback"):
        gateway().parse_webhook({"x-momo-signature": sign(SECRET, junk, int(time.time()))}, junk)

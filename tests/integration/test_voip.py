"""The Kamailio adapter writes SIP accounts Kamailio can authenticate (HA1 digests) and bar (group)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import ProvisioningRequest
from integrations.provisioning.credentials import derive_password
from integrations.provisioning.voip import KamailioAdapter, KamailioConfig
from models.base import engine_for

DOMAIN = "sip.multibill.test"
SECRET = "sip-password-secret"


@pytest.fixture
def adapter(database_url: str) -> KamailioAdapter:
    return KamailioAdapter(KamailioConfig(database_url, DOMAIN, SECRET))


def order(action: ProvisioningAction, service_id: str, **characteristics: Any) -> ProvisioningRequest:
    return ProvisioningRequest(
        order_id="prv_test",
        idempotency_key=f"test:{service_id}:{action.value}",
        action=action,
        service_kind="telephony",
        account_id="acc_voip",
        subscription_id="sub_voip",
        service_id=service_id,
        plan_code="voice-basic",
        characteristics=characteristics,
    )


def query(database_url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine_for(database_url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def test_sip_account_lifecycle(adapter: KamailioAdapter, database_url: str) -> None:
    service = f"svc_{uuid.uuid4().hex[:10]}"
    number = f"+3491{uuid.uuid4().int % 10**7:07d}"
    activate = order(ProvisioningAction.ACTIVATE, service, phone_number=number, max_concurrent_calls=3)
    result = adapter.execute(activate)
    assert (result.status, result.reference) == ("done", f"{number}@{DOMAIN}")
    assert adapter.execute(activate).status == "done"
    password = derive_password(SECRET, activate.idempotency_key)
    ha1 = hashlib.md5(f"{number}:{DOMAIN}:{password}".encode()).hexdigest()  # noqa: S324
    ha1b = hashlib.md5(f"{number}@{DOMAIN}:{DOMAIN}:{password}".encode()).hexdigest()  # noqa: S324
    assert query(
        database_url,
        "select password, ha1, ha1b from subscriber where username=:u and domain=:d",
        u=number,
        d=DOMAIN,
    ) == [("", ha1, ha1b)]
    prefs = "select attribute, type, value, uuid from usr_preferences where username=:u order by attribute"
    assert query(database_url, prefs, u=number) == [
        ("caller_id", 0, number, service),
        ("max_calls", 0, "3", service),
    ]

    barred = "select grp from grp where username=:u and domain=:d"
    assert adapter.execute(order(ProvisioningAction.SUSPEND, service, phone_number=number)).status == "done"
    assert query(database_url, barred, u=number, d=DOMAIN) == [("suspended",)]
    [state] = [s for s in adapter.list_state() if s.service_id == service]
    assert (state.active, state.suspended) == (True, True)
    assert adapter.execute(order(ProvisioningAction.RESUME, service, phone_number=number)).status == "done"
    assert query(database_url, barred, u=number, d=DOMAIN) == []

    change = order(ProvisioningAction.CHANGE, service, phone_number=number, caller_id="+34910000000")
    assert adapter.execute(change).status == "done"
    assert query(database_url, prefs, u=number) == [
        ("caller_id", 0, "+34910000000", service),
        ("max_calls", 0, "2", service),
    ]
    assert query(database_url, "select ha1 from subscriber where username=:u", u=number) == [(ha1,)]

    assert adapter.execute(order(ProvisioningAction.TERMINATE, service, phone_number=number)).status == "done"
    assert query(database_url, "select count(*) from subscriber where username=:u", u=number) == [(0,)]
    assert query(database_url, prefs, u=number) == []


def test_bad_sip_data_is_not_retried(adapter: KamailioAdapter) -> None:
    first, second = f"svc_{uuid.uuid4().hex[:10]}", f"svc_{uuid.uuid4().hex[:10]}"
    name = f"user-{first}"
    assert adapter.execute(order(ProvisioningAction.ACTIVATE, first, sip_username=name)).status == "done"
    taken = adapter.execute(order(ProvisioningAction.ACTIVATE, second, sip_username=name))
    assert (taken.status, taken.retryable, taken.detail) == (
        "failed",
        False,
        f"SIP account {name}@{DOMAIN} belongs to service {first}",
    )
    too_many = adapter.execute(order(ProvisioningAction.ACTIVATE, second, max_concurrent_calls=0))
    assert too_many.detail == "max_concurrent_calls must be a whole number from 1 to 100, got 0"
    missing = adapter.execute(order(ProvisioningAction.SUSPEND, second))
    assert (missing.retryable, missing.detail) == (
        False,
        f"SIP account {second}@{DOMAIN} does not exist (activate it first)",
    )

"""The MVNO host-network simulator's protocol, driven over real HTTP through the client the product will use:
asynchronous orders (an order id now, the outcome by status query or signed callback), SIM and number rules,
state transitions, idempotency by order reference, and the failures tests can inject."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from datetime import date
from typing import Literal

import httpx
import pytest

from integrations.provisioning.mvno.client import Line, MvnoClient, MvnoError, Order, verify_callback
from integrations.provisioning.mvno.simulator import MvnoSimulator, iccid_valid, luhn_check_digit
from tests.support.eventually import eventually
from tests.support.mvno_simulator import MVNO_API_KEY, MVNO_CALLBACK_SECRET, CallbackReceiver, make_iccid

NewSim = Callable[[], tuple[str, str]]
HOST_TODAY = date(2026, 3, 10)
_NUMBERS = itertools.count(1)
_REFS = itertools.count(1)


def msisdn() -> str:
    return f"3361{next(_NUMBERS) + 2_000_000:07d}"


def ref(what: str) -> str:
    return f"test-{what}-{next(_REFS)}"


def outcome(client: MvnoClient, order: Order) -> Order:
    """Poll the order's status until it is no longer pending."""
    return eventually(lambda: client.order(order.order_id), until=lambda o: o.status != "pending", timeout=5)


def live(client: MvnoClient, number: str) -> Line:
    line = client.line(number)
    assert line is not None, f"no line {number}"
    return line


def activate(
    client: MvnoClient, new_sim: NewSim, number: str | None = None, **kw: str
) -> tuple[str, str, str]:
    iccid, imsi = new_sim()
    number = number or msisdn()
    order = client.activate(
        ref("act"), msisdn=number, iccid=iccid, imsi=imsi, tariff_profile=kw.get("tariff", "mvno-basic")
    )
    assert outcome(client, order).status == "completed"
    return number, iccid, imsi


def test_luhn_check_digit_and_iccid_validation() -> None:
    # The worked example of the Luhn algorithm: 7992739871 → check digit 3.
    assert luhn_check_digit("7992739871") == "3"
    iccid = make_iccid(42)
    assert iccid_valid(iccid) and len(iccid) == 19
    wrong_digit = iccid[:-1] + str((int(iccid[-1]) + 1) % 10)
    assert not iccid_valid(wrong_digit)
    assert not iccid_valid("99" + iccid[2:])  # not a telecom ICCID (issuer prefix 89)


def test_activate_is_asynchronous_then_completed(
    mvno: MvnoSimulator, mvno_client: MvnoClient, new_sim: NewSim
) -> None:
    mvno.processing_s = 0.3
    iccid, imsi = new_sim()
    number = msisdn()
    order = mvno_client.activate(
        ref("act"), msisdn=number, iccid=iccid, imsi=imsi, tariff_profile="mvno-plus"
    )
    assert (order.status, order.reason, order.replayed) == ("pending", None, False)
    assert mvno_client.line(number) is None  # accepted is not done
    done = outcome(mvno_client, order)
    assert (done.order_id, done.status, done.reason) == (order.order_id, "completed", None)
    line = mvno_client.line(number)
    assert line is not None
    assert (line.iccid, line.imsi, line.tariff_profile, line.state) == (iccid, imsi, "mvno-plus", "active")
    assert mvno.sims[iccid]["state"] == "in_use"


def test_repeated_order_ref_returns_the_same_order(mvno_client: MvnoClient, new_sim: NewSim) -> None:
    iccid, imsi = new_sim()
    number, order_ref = msisdn(), ref("idem")
    first = mvno_client.activate(
        order_ref, msisdn=number, iccid=iccid, imsi=imsi, tariff_profile="mvno-basic"
    )
    again = mvno_client.activate(
        order_ref, msisdn=number, iccid=iccid, imsi=imsi, tariff_profile="mvno-basic"
    )
    assert again.order_id == first.order_id and again.replayed
    assert outcome(mvno_client, first).status == "completed"
    after = mvno_client.activate(
        order_ref, msisdn=number, iccid=iccid, imsi=imsi, tariff_profile="mvno-basic"
    )
    assert (after.order_id, after.status) == (first.order_id, "completed")  # not a second activation
    found = mvno_client.order_by_ref(order_ref)
    assert found is not None and found.order_id == first.order_id
    with pytest.raises(MvnoError) as reused:
        mvno_client.activate(order_ref, msisdn=msisdn(), iccid=iccid, imsi=imsi, tariff_profile="mvno-basic")
    assert (reused.value.status, reused.value.code, reused.value.retryable) == (
        409,
        "order_ref_reused",
        False,
    )
    assert mvno_client.order_by_ref(ref("never-sent")) is None


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"iccid": "bad-luhn"}, "invalid_iccid"),
        ({"imsi": "1234"}, "invalid_request"),
        ({"msisdn": "+33612345678"}, "invalid_request"),
        ({"tariff_profile": ""}, "invalid_request"),
    ],
)
def test_malformed_orders_are_refused_at_once(
    mvno_client: MvnoClient, new_sim: NewSim, fields: dict[str, str], code: str
) -> None:
    iccid, imsi = new_sim()
    body = {"msisdn": msisdn(), "iccid": iccid, "imsi": imsi, "tariff_profile": "mvno-basic"}
    if fields.get("iccid") == "bad-luhn":
        fields = {"iccid": iccid[:-1] + str((int(iccid[-1]) + 1) % 10)}
    body.update(fields)
    order_ref = ref("bad")
    with pytest.raises(MvnoError) as refused:
        mvno_client.submit(order_ref, "activate", **body)
    assert (refused.value.status, refused.value.code) == (422, code)
    assert mvno_client.order_by_ref(order_ref) is None  # no order was created


def test_activation_rejections_carry_a_reason_and_change_nothing(
    mvno: MvnoSimulator, mvno_client: MvnoClient, new_sim: NewSim
) -> None:
    taken, used_iccid, used_imsi = activate(mvno_client, new_sim)
    free_iccid, free_imsi = new_sim()
    unknown = make_iccid(999_999_001)
    cases = [
        ({"msisdn": msisdn(), "iccid": unknown, "imsi": free_imsi}, "unknown_iccid"),
        ({"msisdn": msisdn(), "iccid": used_iccid, "imsi": used_imsi}, "iccid_in_use"),
        ({"msisdn": msisdn(), "iccid": free_iccid, "imsi": used_imsi}, "imsi_mismatch"),
        ({"msisdn": taken, "iccid": free_iccid, "imsi": free_imsi}, "msisdn_taken"),
        (
            {"msisdn": msisdn(), "iccid": free_iccid, "imsi": free_imsi, "tariff_profile": "gold"},
            "unknown_tariff_profile",
        ),
    ]
    for fields, code in cases:
        order = mvno_client.submit(ref("rej"), "activate", **{"tariff_profile": "mvno-basic", **fields})
        assert order.status == "pending"
        done = outcome(mvno_client, order)
        assert done.status == "rejected" and done.reason is not None, fields
        assert done.reason.code == code and done.reason.message
    assert mvno.sims[free_iccid]["state"] == "available"  # rejections left the spare SIM untouched
    line = mvno_client.line(taken)
    assert line is not None and (line.iccid, line.state) == (used_iccid, "active")


def test_suspend_resume_terminate_follow_the_state_machine(
    mvno: MvnoSimulator, mvno_client: MvnoClient, new_sim: NewSim
) -> None:
    number, iccid, _ = activate(mvno_client, new_sim)

    def change(kind: Literal["suspend", "resume", "terminate"]) -> Order:
        return outcome(mvno_client, mvno_client.change_state(ref(kind), kind, msisdn=number))

    resumed_active = change("resume")
    assert resumed_active.reason is not None and resumed_active.reason.code == "invalid_state_transition"
    assert change("suspend").status == "completed"
    assert live(mvno_client, number).state == "suspended"
    again = change("suspend")
    assert again.reason is not None and again.reason.code == "invalid_state_transition"
    assert change("resume").status == "completed"
    assert live(mvno_client, number).state == "active"
    assert change("terminate").status == "completed"
    assert live(mvno_client, number).state == "terminated"
    assert mvno.sims[iccid]["state"] == "retired"
    after = change("resume")
    assert after.reason is not None and after.reason.code == "line_not_found"
    twice = change("terminate")
    assert twice.reason is not None and twice.reason.code == "invalid_state_transition"
    unknown = outcome(mvno_client, mvno_client.change_state(ref("s"), "suspend", msisdn=msisdn()))
    assert unknown.reason is not None and unknown.reason.code == "line_not_found"
    # The number is free again after termination; the retired SIM is not.
    new_iccid, new_imsi = new_sim()
    reuse = mvno_client.activate(
        ref("re"), msisdn=number, iccid=new_iccid, imsi=new_imsi, tariff_profile="mvno-basic"
    )
    assert outcome(mvno_client, reuse).status == "completed"
    old_sim = mvno_client.activate(
        ref("old"), msisdn=msisdn(), iccid=iccid, imsi=mvno.sims[iccid]["imsi"], tariff_profile="mvno-basic"
    )
    retired = outcome(mvno_client, old_sim)
    assert retired.reason is not None and retired.reason.code == "sim_retired"


def test_sim_swap_keeps_the_number_on_a_new_sim(
    mvno: MvnoSimulator, mvno_client: MvnoClient, new_sim: NewSim
) -> None:
    number, old_iccid, _ = activate(mvno_client, new_sim)
    new_iccid, new_imsi = new_sim()
    order = mvno_client.swap_sim(ref("swap"), msisdn=number, new_iccid=new_iccid, new_imsi=new_imsi)
    assert outcome(mvno_client, order).status == "completed"
    line = mvno_client.line(number)
    assert line is not None and (line.msisdn, line.iccid, line.imsi, line.state) == (
        number,
        new_iccid,
        new_imsi,
        "active",
    )
    assert (mvno.sims[old_iccid]["state"], mvno.sims[new_iccid]["state"]) == ("retired", "in_use")
    # Swapping onto a SIM that is on a line, or onto an unknown one, is rejected.
    _, other_iccid, _ = activate(mvno_client, new_sim)
    busy = outcome(mvno_client, mvno_client.swap_sim(ref("swap"), msisdn=number, new_iccid=other_iccid))
    assert busy.reason is not None and busy.reason.code == "iccid_in_use"
    unknown = outcome(
        mvno_client, mvno_client.swap_sim(ref("swap"), msisdn=number, new_iccid=make_iccid(999_999_002))
    )
    assert unknown.reason is not None and unknown.reason.code == "unknown_iccid"
    assert live(mvno_client, number).iccid == new_iccid


def test_port_in_takes_a_donor_number_on_a_porting_date(
    mvno: MvnoSimulator, mvno_client: MvnoClient, new_sim: NewSim
) -> None:
    mvno.today = lambda: HOST_TODAY
    iccid, imsi = new_sim()
    number = msisdn()

    def port(
        day: date, donor: str = "DONORTEL", sim: tuple[str, str] = (iccid, imsi), to: str = number
    ) -> Order:
        order = mvno_client.port_in(
            ref("port"), msisdn=to, iccid=sim[0], imsi=sim[1], tariff_profile="mvno-basic",
            donor_operator=donor, port_date=day,
        )  # fmt: skip
        return outcome(mvno_client, order)

    past = port(date(2026, 3, 9))
    assert past.reason is not None and past.reason.code == "port_date_in_past"
    from_host = port(date(2026, 3, 12), donor="hostnet")
    assert from_host.reason is not None and from_host.reason.code == "donor_is_host"
    assert mvno_client.line(number) is None and mvno.sims[iccid]["state"] == "available"
    assert port(HOST_TODAY).status == "completed"  # today is not in the past
    line = mvno_client.line(number)
    assert line is not None and (line.ported_from, line.ported_on, line.state) == (
        "DONORTEL",
        HOST_TODAY,
        "active",
    )
    taken = port(date(2026, 3, 20), sim=new_sim())
    assert taken.reason is not None and taken.reason.code == "msisdn_taken"
    with pytest.raises(MvnoError) as bad_date:
        mvno_client.submit(
            ref("port"), "port_in", msisdn=msisdn(), iccid=iccid, imsi=imsi, tariff_profile="mvno-basic",
            donor_operator="DONORTEL", port_date="10/03/2026",
        )  # fmt: skip
    assert (bad_date.value.status, bad_date.value.code) == (422, "invalid_request")


def test_outcome_arrives_by_signed_callback(
    mvno_client: MvnoClient, mvno_callbacks: CallbackReceiver, new_sim: NewSim
) -> None:
    iccid, imsi = new_sim()
    order = mvno_client.activate(
        ref("cb"), msisdn=msisdn(), iccid=iccid, imsi=imsi, tariff_profile="mvno-basic",
        callback_url=mvno_callbacks.url,
    )  # fmt: skip
    [callback] = eventually(lambda: mvno_callbacks.for_order(order.order_id), timeout=5)
    assert callback.order()["status"] == "completed" and callback.order()["order_ref"] == order.order_ref
    assert verify_callback(MVNO_CALLBACK_SECRET, callback.signature, callback.body)
    assert not verify_callback("another-secret", callback.signature, callback.body)
    tampered = callback.body.replace(b'"completed"', b'"rejected"')
    assert not verify_callback(MVNO_CALLBACK_SECRET, callback.signature, tampered)
    assert not verify_callback(
        MVNO_CALLBACK_SECRET, callback.signature, callback.body, now=time.time() + 3600
    )
    assert not verify_callback(MVNO_CALLBACK_SECRET, "garbage", callback.body)


def test_callbacks_are_retried_delayed_or_dropped(
    mvno: MvnoSimulator, mvno_client: MvnoClient, mvno_callbacks: CallbackReceiver, new_sim: NewSim
) -> None:
    def send() -> Order:
        iccid, imsi = new_sim()
        return mvno_client.activate(
            ref("cb"), msisdn=msisdn(), iccid=iccid, imsi=imsi, tariff_profile="mvno-basic",
            callback_url=mvno_callbacks.url,
        )  # fmt: skip

    mvno_callbacks.fail_next(1)  # the receiver answers 500 once: the host sends again
    retried = send()
    got = eventually(
        lambda: mvno_callbacks.for_order(retried.order_id), until=lambda c: len(c) == 2, timeout=5
    )
    assert [c.answered for c in got] == [500, 200]

    mvno.drop_callbacks = 1  # never sent: the outcome is only known by status query
    dropped = send()
    assert outcome(mvno_client, dropped).status == "completed"
    eventually(lambda: dropped.order_id in mvno.callbacks_dropped, timeout=5)
    time.sleep(0.3)
    assert mvno_callbacks.for_order(dropped.order_id) == []

    mvno.callback_delay_s = 0.6  # completed well before the callback arrives
    late = send()
    assert outcome(mvno_client, late).status == "completed"
    assert mvno_callbacks.for_order(late.order_id) == []
    eventually(lambda: mvno_callbacks.for_order(late.order_id), timeout=5)


def test_injected_rejection_failure_and_slowness(
    mvno: MvnoSimulator, mvno_platform: tuple[MvnoSimulator, str], mvno_client: MvnoClient, new_sim: NewSim
) -> None:
    mvno.reject_next("network_busy")
    iccid, imsi = new_sim()
    number = msisdn()
    order = mvno_client.activate(
        ref("inj"), msisdn=number, iccid=iccid, imsi=imsi, tariff_profile="mvno-basic"
    )
    rejected = outcome(mvno_client, order)
    assert rejected.reason is not None and rejected.reason.code == "network_busy"
    assert mvno_client.line(number) is None and mvno.sims[iccid]["state"] == "available"

    mvno.fail_next = 1
    with pytest.raises(MvnoError) as failed:
        mvno_client.activate(ref("inj"), msisdn=number, iccid=iccid, imsi=imsi, tariff_profile="mvno-basic")
    assert (failed.value.status, failed.value.code, failed.value.retryable) == (503, "unavailable", True)

    mvno.latency = 1.0
    impatient = MvnoClient(mvno_platform[1], MVNO_API_KEY, timeout_seconds=0.2)
    with impatient, pytest.raises(MvnoError) as slow:
        impatient.order(order.order_id)
    assert (slow.value.code, slow.value.retryable) == ("timeout", True)


def test_the_api_key_is_required(mvno_platform: tuple[MvnoSimulator, str]) -> None:
    with MvnoClient(mvno_platform[1], "wrong-key") as intruder, pytest.raises(MvnoError) as denied:
        intruder.order_by_ref("anything")
    assert (denied.value.status, denied.value.code, denied.value.retryable) == (401, "unauthorized", False)
    answer = httpx.post(f"{mvno_platform[1]}/v1/orders", content=json.dumps({"type": "activate"}))
    assert answer.status_code == 401

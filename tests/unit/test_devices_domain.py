from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.devices import (
    TRANSITIONS,
    ActiveLogin,
    BalanceChange,
    DeviceState,
    LoginDecision,
    LoginPolicy,
    MovementKind,
    SwapReason,
    apply_deltas,
    check_available,
    check_state_request,
    check_transition,
    decide_login,
    login_rules,
    movement_deltas,
    state_after_swap,
    swap_fee_minor,
)
from domain.errors import Conflict, RuleViolation

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_retired_is_final_and_in_stock_reaches_reserved_only_by_rule() -> None:
    assert TRANSITIONS[DeviceState.RETIRED] == frozenset()
    check_transition("dev_1", DeviceState.IN_STOCK, DeviceState.RESERVED)
    with pytest.raises(Conflict) as err:
        check_transition("dev_1", DeviceState.RETIRED, DeviceState.IN_STOCK)
    assert err.value.code == "invalid_device_state"
    assert err.value.message == "device dev_1 is retired and cannot become in_stock"


@pytest.mark.parametrize("state", [s for s in DeviceState if s is not DeviceState.IN_STOCK])
def test_only_a_device_in_stock_is_available(state: DeviceState) -> None:
    with pytest.raises(Conflict) as err:
        check_available("dev_9", state)
    assert err.value.code == "device_not_available"
    assert err.value.status == 409


def test_state_requests_cannot_reserve_or_assign_or_bypass_a_subscription() -> None:
    with pytest.raises(RuleViolation) as err:
        check_state_request("dev_1", DeviceState.IN_STOCK, DeviceState.ASSIGNED)
    assert (err.value.code, err.value.status) == ("state_needs_process", 422)
    with pytest.raises(Conflict) as conflict:
        check_state_request("dev_1", DeviceState.RESERVED, DeviceState.IN_STOCK)
    assert conflict.value.code == "invalid_device_state"
    check_state_request("dev_1", DeviceState.ASSIGNED, DeviceState.LOST_STOLEN)
    check_state_request("dev_1", DeviceState.LOST_STOLEN, DeviceState.IN_STOCK)


def test_transfer_moves_quantity_between_two_warehouses() -> None:
    changes = movement_deltas(MovementKind.TRANSFER, "hdmi", 3, source="whs_a", target="whs_b")
    assert changes == [BalanceChange("whs_a", "hdmi", -3), BalanceChange("whs_b", "hdmi", 3)]
    after = apply_deltas({("whs_a", "hdmi"): 5}, changes)
    assert after == {("whs_a", "hdmi"): 2, ("whs_b", "hdmi"): 3}


def test_more_than_a_warehouse_holds_is_refused() -> None:
    changes = movement_deltas(MovementKind.WRITE_OFF, "hdmi", 6, source="whs_a", target=None)
    with pytest.raises(Conflict) as err:
        apply_deltas({("whs_a", "hdmi"): 5}, changes)
    assert err.value.code == "insufficient_stock"
    assert err.value.message == "warehouse whs_a holds 5 of hdmi, not 6"


@pytest.mark.parametrize(
    ("kind", "source", "target"),
    [
        (MovementKind.RECEIVE, "whs_a", "whs_b"),
        (MovementKind.TRANSFER, "whs_a", None),
        (MovementKind.TRANSFER, "whs_a", "whs_a"),
        (MovementKind.WRITE_OFF, None, "whs_a"),
        (MovementKind.RESERVE, "whs_a", None),
    ],
)
def test_movements_name_the_right_warehouses(
    kind: MovementKind, source: str | None, target: str | None
) -> None:
    with pytest.raises(RuleViolation) as err:
        movement_deltas(kind, "hdmi", 1, source=source, target=target)
    assert err.value.code == "invalid_movement"


@given(
    start=st.integers(min_value=0, max_value=1000),
    moves=st.lists(st.tuples(st.booleans(), st.integers(min_value=1, max_value=300)), max_size=30),
)
def test_balances_never_go_negative_and_are_conserved(start: int, moves: list[tuple[bool, int]]) -> None:
    balances = {("a", "p"): start}
    for forward, qty in moves:
        source, target = ("a", "b") if forward else ("b", "a")
        changes = movement_deltas(MovementKind.TRANSFER, "p", qty, source=source, target=target)
        try:
            balances = apply_deltas(balances, changes)
        except Conflict:
            continue
        assert min(balances.values()) >= 0
        assert sum(balances.values()) == start


def logins(*devices: str) -> list[ActiveLogin]:
    return [ActiveLogin(f"dlg_{i}", d, T0 + timedelta(minutes=i)) for i, d in enumerate(devices)]


def test_login_within_limit_and_refresh_of_a_known_device() -> None:
    assert decide_login(logins("tv"), "phone", 2, LoginPolicy.REFUSE_NEW) == LoginDecision(None, ())
    assert decide_login(logins("tv", "phone"), "phone", 2, LoginPolicy.REFUSE_NEW) == LoginDecision(
        "dlg_1", ()
    )
    assert decide_login(logins("a", "b", "c"), "d", None, LoginPolicy.REFUSE_NEW) == LoginDecision(None, ())


def test_login_over_the_limit_is_refused_or_logs_out_the_oldest() -> None:
    with pytest.raises(Conflict) as err:
        decide_login(logins("tv", "phone"), "tablet", 2, LoginPolicy.REFUSE_NEW)
    assert err.value.code == "device_limit_reached"
    assert err.value.message == "2 devices are logged in, the plan allows 2; log one out first"
    decision = decide_login(logins("tv", "phone", "laptop"), "tablet", 2, LoginPolicy.LOGOUT_OLDEST)
    assert decision == LoginDecision(None, ("dlg_0", "dlg_1"))


def test_login_rules_from_characteristics() -> None:
    assert login_rules({}) == (None, LoginPolicy.REFUSE_NEW)
    assert login_rules({"max_devices": 3, "device_login_policy": "logout_oldest"}) == (
        3,
        LoginPolicy.LOGOUT_OLDEST,
    )
    assert login_rules({"max_devices": True, "device_login_policy": "bogus"}) == (
        None,
        LoginPolicy.REFUSE_NEW,
    )


def test_swap_fee_only_when_damaged() -> None:
    assert state_after_swap(SwapReason.STOLEN) is DeviceState.LOST_STOLEN
    assert state_after_swap(SwapReason.FAULTY) is DeviceState.IN_REPAIR
    assert swap_fee_minor(SwapReason.FAULTY, "EUR", requested_minor=999, catalogue_fee=Decimal("25")) == 0
    assert (
        swap_fee_minor(SwapReason.DAMAGED, "EUR", requested_minor=None, catalogue_fee=Decimal("25.50"))
        == 2550
    )
    assert (
        swap_fee_minor(SwapReason.DAMAGED, "JPY", requested_minor=None, catalogue_fee=Decimal("3000")) == 3000
    )
    assert (
        swap_fee_minor(SwapReason.DAMAGED, "EUR", requested_minor=1234, catalogue_fee=Decimal("25")) == 1234
    )
    with pytest.raises(RuleViolation) as err:
        swap_fee_minor(SwapReason.DAMAGED, "EUR", requested_minor=None, catalogue_fee=None)
    assert err.value.code == "fee_not_configured"

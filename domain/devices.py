"""Devices and stock: the life of a device, how movements change balances, device login limits, swaps.

Pure rules, no I/O: the activities load rows, ask these functions what is allowed and what changes,
then write. Safe to import inside workflows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import Conflict, RuleViolation
from domain.money import round_minor


class DeviceState(StrEnum):
    IN_STOCK = "in_stock"
    RESERVED = "reserved"
    ASSIGNED = "assigned"
    IN_REPAIR = "in_repair"
    LOST_STOLEN = "lost_stolen"
    RETIRED = "retired"


class MovementKind(StrEnum):
    RECEIVE = "receive"
    TRANSFER = "transfer"
    RESERVE = "reserve"
    RELEASE = "release"
    DISPATCH = "dispatch"  # to a subscriber
    RETURN = "return"  # from a subscriber, or undoing a dispatch
    WRITE_OFF = "write_off"
    STATE_CHANGE = "state_change"  # repair, lost/stolen, found, retired


S = DeviceState
TRANSITIONS: dict[DeviceState, frozenset[DeviceState]] = {
    S.IN_STOCK: frozenset({S.RESERVED, S.ASSIGNED, S.IN_REPAIR, S.LOST_STOLEN, S.RETIRED}),
    S.RESERVED: frozenset({S.IN_STOCK, S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.IN_STOCK, S.IN_REPAIR, S.LOST_STOLEN}),
    S.IN_REPAIR: frozenset({S.IN_STOCK, S.RETIRED, S.ASSIGNED}),
    S.LOST_STOLEN: frozenset({S.IN_STOCK, S.RETIRED, S.ASSIGNED}),
    S.RETIRED: frozenset(),
}
# States a device reaches only through a process (reserve, dispatch), never by a plain state change.
PROCESS_ONLY: frozenset[DeviceState] = frozenset({S.RESERVED, S.ASSIGNED})
# States in which a device sits in a warehouse (and so needs one); assigned and lost ones sit in none.
IN_A_WAREHOUSE: frozenset[DeviceState] = frozenset({S.IN_STOCK, S.RESERVED, S.IN_REPAIR})
OUT_OF_WAREHOUSE: frozenset[DeviceState] = frozenset({S.ASSIGNED, S.LOST_STOLEN})


def check_transition(device: str, current: DeviceState, target: DeviceState) -> None:
    """Refuse a move the device's life does not allow (409 ``invalid_device_state``)."""
    if target not in TRANSITIONS[current]:
        raise Conflict(
            "invalid_device_state", f"device {device} is {current.value} and cannot become {target.value}"
        )


def check_available(device: str, current: DeviceState) -> None:
    """Only a device in stock can be reserved or assigned (409 ``device_not_available``)."""
    if current is not DeviceState.IN_STOCK:
        raise Conflict("device_not_available", f"device {device} is {current.value}, not in stock")


def check_state_request(device: str, current: DeviceState, target: DeviceState) -> None:
    """A staff state change (repair, lost/stolen, found, retire); reserve and assign go through processes."""
    if target in PROCESS_ONLY:
        raise RuleViolation(
            "state_needs_process",
            f"{target.value} is set by reserving or dispatching a device, not by a state change",
            field="state",
        )
    if current in PROCESS_ONLY and target is DeviceState.IN_STOCK:
        raise Conflict(
            "invalid_device_state",
            f"device {device} is {current.value}: return or release it through its subscription",
        )
    check_transition(device, current, target)


# --- balances of non-traceable items (quantities per warehouse and product) ---------------------------

StockKey = tuple[str, str]  # (warehouse id, product code)


@dataclass(frozen=True)
class BalanceChange:
    warehouse_id: str
    product_code: str
    delta: int


def movement_deltas(
    kind: MovementKind, product_code: str, quantity: int, *, source: str | None, target: str | None
) -> list[BalanceChange]:
    """What a movement of ``quantity`` items does to the balances of its warehouses."""
    if quantity <= 0:
        raise RuleViolation("invalid_quantity", "a movement moves at least one item", field="quantity")
    needs = {
        MovementKind.RECEIVE: (False, True),
        MovementKind.RETURN: (False, True),
        MovementKind.TRANSFER: (True, True),
        MovementKind.DISPATCH: (True, False),
        MovementKind.WRITE_OFF: (True, False),
    }
    if kind not in needs:
        raise RuleViolation("invalid_movement", f"{kind.value} does not apply to quantities", field="kind")
    need_source, need_target = needs[kind]
    if need_source != (source is not None) or need_target != (target is not None):
        where = " and ".join(w for w, n in (("from", need_source), ("to", need_target)) if n)
        raise RuleViolation("invalid_movement", f"a {kind.value} names exactly a {where} warehouse")
    if source is not None and source == target:
        raise RuleViolation("invalid_movement", "a transfer moves stock between two different warehouses")
    changes = []
    if source is not None:
        changes.append(BalanceChange(source, product_code, -quantity))
    if target is not None:
        changes.append(BalanceChange(target, product_code, quantity))
    return changes


def apply_deltas(balances: Mapping[StockKey, int], changes: Sequence[BalanceChange]) -> dict[StockKey, int]:
    """New balances after the changes; refuses (409 ``insufficient_stock``) to go below zero."""
    result = dict(balances)
    for change in changes:
        key = (change.warehouse_id, change.product_code)
        after = result.get(key, 0) + change.delta
        if after < 0:
            raise Conflict(
                "insufficient_stock",
                f"warehouse {change.warehouse_id} holds {result.get(key, 0)} of {change.product_code}, "
                f"not {-change.delta}",
            )
        result[key] = after
    return result


# --- device logins (OTT apps) ---------------------------------------------------------------------------


class LoginPolicy(StrEnum):
    REFUSE_NEW = "refuse_new"
    LOGOUT_OLDEST = "logout_oldest"


@dataclass(frozen=True)
class ActiveLogin:
    login_id: str
    device_id: str
    logged_in_at: datetime


@dataclass(frozen=True)
class LoginDecision:
    refresh: str | None  # the device is already logged in: refresh this login
    log_out: tuple[str, ...]  # logins to end to make room


def decide_login(
    active: Sequence[ActiveLogin], device_id: str, max_devices: int | None, policy: LoginPolicy
) -> LoginDecision:
    """Whether a device may log in, and which logins end to make room.

    A device already logged in refreshes its login. Otherwise, at the limit, ``refuse_new`` refuses
    (409 ``device_limit_reached``) and ``logout_oldest`` ends the oldest logins until one is free.
    """
    for login in active:
        if login.device_id == device_id:
            return LoginDecision(refresh=login.login_id, log_out=())
    if max_devices is None or len(active) < max_devices:
        return LoginDecision(refresh=None, log_out=())
    if policy is LoginPolicy.REFUSE_NEW or max_devices == 0:
        raise Conflict(
            "device_limit_reached",
            f"{len(active)} devices are logged in, the plan allows {max_devices}; log one out first",
        )
    oldest = sorted(active, key=lambda a: (a.logged_in_at, a.login_id))
    excess = len(active) - max_devices + 1
    return LoginDecision(refresh=None, log_out=tuple(a.login_id for a in oldest[:excess]))


def login_rules(characteristics: Mapping[str, object]) -> tuple[int | None, LoginPolicy]:
    """``max_devices`` (integer, absent: no limit) and ``device_login_policy`` from a product."""
    raw_max = characteristics.get("max_devices")
    max_devices = raw_max if isinstance(raw_max, int) and not isinstance(raw_max, bool) else None
    raw_policy = characteristics.get("device_login_policy", LoginPolicy.REFUSE_NEW.value)
    try:
        policy = LoginPolicy(str(raw_policy))
    except ValueError:
        policy = LoginPolicy.REFUSE_NEW
    return (max(max_devices, 0) if max_devices is not None else None), policy


# --- device swaps ---------------------------------------------------------------------------------------


class SwapReason(StrEnum):
    FAULTY = "faulty"
    DAMAGED = "damaged"  # by the subscriber: a fee applies
    STOLEN = "stolen"


DAMAGE_FEE_CODE = "device_damage"


def state_after_swap(reason: SwapReason) -> DeviceState:
    """Where the swapped-out device goes: faulty and damaged to repair, stolen to lost/stolen."""
    return DeviceState.LOST_STOLEN if reason is SwapReason.STOLEN else DeviceState.IN_REPAIR


def swap_fee_minor(
    reason: SwapReason, currency: str, *, requested_minor: int | None, catalogue_fee: Decimal | None
) -> int:
    """The fee in minor units: none unless damaged; the request's amount, else the plan's damage fee."""
    if reason is not SwapReason.DAMAGED:
        return 0
    if requested_minor is not None:
        if requested_minor < 0:
            raise RuleViolation("invalid_fee", "a fee cannot be negative", field="fee_amount_minor")
        return requested_minor
    if catalogue_fee is None:
        raise RuleViolation(
            "fee_not_configured",
            f"the plan has no {DAMAGE_FEE_CODE} fee in {currency}; send fee_amount_minor",
            field="fee_amount_minor",
        )
    return round_minor(catalogue_fee, currency)

"""domain.memo: answers computed once, bounded, and an identity memo never confuses equal objects."""

from __future__ import annotations

from dataclasses import dataclass

from domain.memo import IdentityMemo, Memo


def test_an_answer_is_computed_once_and_a_false_answer_is_kept_too() -> None:
    memo: Memo[str, bool] = Memo(10)
    calls: list[str] = []

    def compute(key: str) -> bool:
        calls.append(key)
        return key == "yes"

    for _ in range(3):
        assert memo.remember("yes", lambda: compute("yes")) is True
        assert memo.remember("no", lambda: compute("no")) is False
    assert calls == ["yes", "no"]


def test_the_memo_is_emptied_at_its_limit() -> None:
    memo: Memo[int, int] = Memo(3)
    for key in range(3):
        memo.put(key, key * 10)
    assert len(memo) == 3 and memo.get(0) == 0
    memo.put(3, 30)  # the fourth entry empties it first
    assert len(memo) == 1
    assert memo.get(0) is None and memo.get(3) == 30


@dataclass(frozen=True)
class Charge:
    price: str


def test_equal_objects_of_two_owners_are_told_apart_by_identity() -> None:
    memo: IdentityMemo[str] = IdentityMemo(10)
    first, second = Charge("0.60"), Charge("0.60")
    assert first == second and first is not second
    assert memo.remember(first, "EUR", lambda: "first") == "first"
    assert memo.remember(second, "EUR", lambda: "second") == "second"
    assert memo.remember(first, "EUR", lambda: "again") == "first"
    assert memo.remember(first, "USD", lambda: "in dollars") == "in dollars"

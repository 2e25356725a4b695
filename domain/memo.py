"""Per-process memos of answers computed from immutable inputs (parsed catalogue versions, compiled
tariffs, price models), bounded so a long-running worker or API process cannot grow without end.

A memo is emptied when it reaches its limit: the working set (the plan versions on sale, their charges)
is far below any limit used here, and after a flush each answer is computed once more. Keys must name
everything the answer depends on, the owning organisation included: two operators may both have a
plan ``mobile`` version 1 with different prices.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """``key`` → answer, at most ``limit`` entries."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def put(self, key: K, value: V) -> V:
        if len(self._items) >= self.limit:
            self._items.clear()
        self._items[key] = value
        return value

    def remember(self, key: K, compute: Callable[[], V]) -> V:
        """The answer for ``key``, computed once."""
        found = self._items.get(key)
        return found if found is not None else self.put(key, compute())

    def clear(self) -> None:
        self._items.clear()


class IdentityMemo(Generic[V]):
    """(an object, a text) → answer, the object known by identity: for frozen definitions parsed once per
    version, where equal-looking objects of two owners must not share an answer. The object is held
    beside its answer, so its id cannot be reused by another while the entry lives."""

    def __init__(self, limit: int) -> None:
        self._memo: Memo[tuple[int, str], tuple[Any, V]] = Memo(limit)

    def __len__(self) -> int:
        return len(self._memo)

    def remember(self, obj: Any, extra: str, compute: Callable[[], V]) -> V:
        found = self._memo.get((id(obj), extra))
        if found is not None and found[0] is obj:
            return found[1]
        return self._memo.put((id(obj), extra), (obj, compute()))[1]


__all__ = ["IdentityMemo", "Memo"]

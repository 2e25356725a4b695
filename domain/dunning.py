"""Dunning ladders: what happens how many days after a failed collection (pure).

A ladder is a list of steps, each on a day offset from the first failure, each with actions done in
order: ``retry`` (collect again), ``notice:<kind>`` (a reminder, a warning…), ``suspend`` (services,
through the subscription process), ``terminate`` (at the end of the term), ``write_off``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.errors import RuleViolation

Action = Literal[
    "retry", "notice:reminder", "notice:warning", "notice:final", "suspend", "terminate", "write_off"
]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    day: int = Field(ge=0, le=365, description="days after the first failed collection")
    actions: list[Action] = Field(min_length=1, max_length=6)


class Ladder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[Step] = Field(min_length=1, max_length=20)

    @field_validator("steps")
    @classmethod
    def _ascending(cls, steps: list[Step]) -> list[Step]:
        days = [s.day for s in steps]
        if days != sorted(days) or len(set(days)) != len(days):
            raise RuleViolation("ladder_order", "ladder steps must have distinct days in ascending order")
        return steps

    @model_validator(mode="after")
    def _sensible(self) -> Ladder:
        actions = [a for s in self.steps for a in s.actions]
        if "write_off" in actions and actions.index("write_off") != len(actions) - 1:
            raise RuleViolation("ladder_write_off_last", "write_off ends a ladder: nothing can follow it")
        if "resume" in actions:  # pragma: no cover - not an action; resumption follows payment
            raise RuleViolation("ladder_action", "resume is not a ladder action")
        return self


DEFAULT_LADDER = Ladder(
    steps=[
        Step(day=1, actions=["retry"]),
        Step(day=9, actions=["retry", "notice:reminder"]),
        Step(day=13, actions=["retry", "notice:warning"]),
        Step(day=20, actions=["retry", "suspend"]),
        Step(day=40, actions=["notice:final", "terminate"]),
        Step(day=60, actions=["write_off"]),
    ]
)

"""Catalogue plan specs for the pure invoicing tests: ``spec`` builds an evergreen plan at one EUR price,
and the two plans most tests use, 12.00 a month and 120.00 a year."""

from __future__ import annotations

from domain.catalog import PlanSpec


def spec(code: str, price: str, period: str, term: str = "in_advance") -> PlanSpec:
    return PlanSpec.model_validate(
        {
            "code": code,
            "name": code,
            "product_code": "net",
            "billing_period": period,
            "billing_term": term,
            "phases": [{"kind": "evergreen", "prices": {"EUR": price}}],
        }
    )


MONTHLY = spec("monthly", "12.00", "month")


YEARLY = spec("yearly", "120.00", "year")

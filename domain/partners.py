"""Partner services (Netflix and other content providers): the rules that need no I/O.

A partner connection's secret is sealed like a webhook endpoint's (``IbanVault`` under a key of its own
purpose, the connection id as associated data). A product of kind ``partner_service`` carries a spec
checked here (``domain/catalog.py`` calls ``check_partner_spec``). Settlement splits what the partner
charged between the partner and the operator by the connection's revenue share, rounded once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.currency import MINOR_UNITS
from domain.errors import RuleViolation
from domain.money import round_minor
from domain.sepa_vault import IbanVault

_SECRET_PURPOSE = b"multibill partner connection secret v1"
PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
PLAN_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")
CHANNELS = ("WEB", "STORE", "MOBILE", "BROADBAND", "OTHER")


def secret_vault(data_key: str) -> IbanVault:
    """The vault partner connection secrets are sealed in."""
    return IbanVault(data_key, purpose=_SECRET_PURPOSE)


def check_share_percent(value: Decimal) -> Decimal:
    """A revenue share in percent: 0 to 100, at most four decimals."""
    if not value.is_finite() or value < 0 or value > 100:
        raise RuleViolation(
            "invalid_revenue_share",
            "revenue_share_percent must be between 0 and 100",
            field="revenue_share_percent",
        )
    if value != value.quantize(Decimal("0.0001")):
        raise RuleViolation(
            "invalid_revenue_share",
            "revenue_share_percent has at most four decimals",
            field="revenue_share_percent",
        )
    return value


def revenue_share(total_minor: int, currency: str, percent: Decimal) -> tuple[int, int]:
    """The operator's share of ``total_minor`` at ``percent`` (rounded once, half up) and what is left
    for the partner: ``(operator_share_minor, partner_payable_minor)``, adding up to the total."""
    places = MINOR_UNITS[currency]
    share = round_minor(Decimal(total_minor).scaleb(-places) * percent / 100, currency)
    return share, total_minor - share


def month_bounds(month: date, time_zone: str) -> tuple[datetime, datetime]:
    """The first instant of ``month`` and of the next one in ``time_zone``, as UTC instants."""
    zone = ZoneInfo(time_zone)
    first = date(month.year, month.month, 1)
    after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    start = datetime.combine(first, time.min, zone).astimezone(UTC)
    end = datetime.combine(after, time.min, zone).astimezone(UTC)
    return start, end


def parse_month(value: str) -> date:
    """``YYYY-MM`` as the first day of that month (a 422 naming ``month`` otherwise)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise RuleViolation("invalid_month", f"month {value!r} is not YYYY-MM", field="month")
    return date(int(match.group(1)), int(match.group(2)), 1)


def previous_month(at: datetime, time_zone: str) -> date:
    """The first day of the month before the one ``at`` falls in, in ``time_zone`` (what a monthly
    settlement run at ``at`` settles)."""
    local = at.astimezone(ZoneInfo(time_zone)).date()
    if local.month == 1:
        return date(local.year - 1, 12, 1)
    return date(local.year, local.month - 1, 1)

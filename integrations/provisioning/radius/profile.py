"""Speed profiles: product characteristics → FreeRADIUS group name and reply attributes.

Characteristics ``download_speed`` and ``upload_speed`` are numbers in Mbit/s, or
``{"value": 300, "unit": "Mbit/s"}`` with unit kbit/s, Mbit/s or Gbit/s. A profile becomes a group
``mb-speed-<down>-<up>`` whose ``radgroupreply`` carries:

* ``Mikrotik-Rate-Limit := "<up>/<down>"`` (rx/tx as the router sees them: rx is the subscriber's
  upload), e.g. ``20M/100M``;
* ``WISPr-Bandwidth-Max-Down`` / ``WISPr-Bandwidth-Max-Up`` in bit/s, for other NAS vendors.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_UNITS = {"kbit/s": 1, "kbps": 1, "mbit/s": 1000, "mbps": 1000, "gbit/s": 1_000_000, "gbps": 1_000_000}


class ProfileError(ValueError):
    """The characteristics do not describe a speed profile (bad data: retrying cannot help)."""


@dataclass(frozen=True)
class SpeedProfile:
    download_kbps: int
    upload_kbps: int

    @property
    def group(self) -> str:
        return f"mb-speed-{_rate(self.download_kbps)}-{_rate(self.upload_kbps)}"

    def reply_attributes(self) -> list[tuple[str, str, str]]:
        """(attribute, op, value) rows for ``radgroupreply``."""
        return [
            ("Mikrotik-Rate-Limit", ":=", f"{_rate(self.upload_kbps)}/{_rate(self.download_kbps)}"),
            ("WISPr-Bandwidth-Max-Down", ":=", str(self.download_kbps * 1000)),
            ("WISPr-Bandwidth-Max-Up", ":=", str(self.upload_kbps * 1000)),
        ]


def _rate(kbps: int) -> str:
    return f"{kbps // 1000}M" if kbps % 1000 == 0 else f"{kbps}k"


def _kbps(name: str, raw: Any) -> int:
    unit = "mbit/s"
    if isinstance(raw, dict):
        unit = str(raw.get("unit") or unit).lower()
        raw = raw.get("value")
    if unit not in _UNITS:
        raise ProfileError(f"{name}: unknown unit {unit!r}")
    if isinstance(raw, bool) or raw is None:
        raise ProfileError(f"{name} is missing or not a number")
    try:
        kbps = Decimal(str(raw)) * _UNITS[unit]
    except InvalidOperation as exc:
        raise ProfileError(f"{name} is not a number: {raw!r}") from exc
    if kbps <= 0 or kbps != kbps.to_integral_value():
        raise ProfileError(f"{name} must be a positive whole number of kbit/s, got {raw!r} {unit}")
    return int(kbps)


def speed_profile(characteristics: dict[str, Any]) -> SpeedProfile:
    return SpeedProfile(
        download_kbps=_kbps("download_speed", characteristics.get("download_speed")),
        upload_kbps=_kbps("upload_speed", characteristics.get("upload_speed")),
    )

"""What a provisioning order asks of the systems that serve a subscriber (a value workflows share)."""

from __future__ import annotations

from enum import StrEnum


class ProvisioningAction(StrEnum):
    """The action of a provisioning order on one service."""

    ACTIVATE = "activate"
    SUSPEND = "suspend"
    RESUME = "resume"
    CHANGE = "change"  # a new profile (plan change)
    TERMINATE = "terminate"


__all__ = ["ProvisioningAction"]

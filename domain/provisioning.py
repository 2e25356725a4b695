"""What provisioning is asked to do to a service: the actions workflows order and adapters carry out."""

from __future__ import annotations

from enum import StrEnum


class ProvisioningAction(StrEnum):
    ACTIVATE = "activate"
    SUSPEND = "suspend"
    RESUME = "resume"
    CHANGE = "change"  # a new profile (plan change)
    TERMINATE = "terminate"

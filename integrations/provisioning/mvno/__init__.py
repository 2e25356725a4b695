"""Mobile lines on a host network through its MVNO provisioning API (see ``simulator`` for the protocol)."""

from integrations.provisioning.mvno.client import (
    Line,
    MvnoClient,
    MvnoError,
    Order,
    Rejection,
    verify_callback,
)

__all__ = ["Line", "MvnoClient", "MvnoError", "Order", "Rejection", "verify_callback"]

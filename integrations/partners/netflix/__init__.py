"""Netflix partner billing (see ``simulator`` for the documented protocol, ``client`` to speak it)."""

from integrations.partners.netflix.client import (
    Charge,
    ChargeDecision,
    FailedCharge,
    NetflixClient,
    NetflixError,
    PartnerSubscriber,
    SignUp,
)

__all__ = [
    "Charge",
    "ChargeDecision",
    "FailedCharge",
    "NetflixClient",
    "NetflixError",
    "PartnerSubscriber",
    "SignUp",
]

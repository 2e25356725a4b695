"""Sealing a debtor's IBAN for storage (pure computation; the key comes from settings).

AES-256-GCM with a key derived by HKDF-SHA256 from ``MULTIBILL_DATA_KEY`` for this one purpose, a fresh
96-bit nonce per seal, and the mandate id as associated data: a sealed IBAN copied onto another
mandate's row does not open. The stored form is ``v1.<urlsafe base64 of nonce + ciphertext + tag>``,
so a later key or algorithm can be told apart. Only the masked form (domain/sepa.py ``mask_iban``) is
ever shown; the full IBAN is opened only to write the bank's pain.008 file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INSECURE_DEV_DATA_KEY = "multibill-dev-data-key-change-me"  # refused in production
VERSION = "v1"
_PURPOSE = b"multibill sepa mandate iban v1"


class SealBroken(ValueError):
    """A sealed value that does not open: another key, another row, or tampered with."""


class IbanVault:
    """Seals values under the data key for one ``purpose`` (by default a mandate's IBAN; another purpose,
    such as a webhook endpoint's signing secret, derives its own key)."""

    def __init__(self, data_key: str, purpose: bytes = _PURPOSE) -> None:
        if not data_key:
            raise ValueError("the data key is empty: set MULTIBILL_DATA_KEY")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            data_key.encode()
        )
        self._aead = AESGCM(derived)
        self._digest_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=purpose + b" digest"
        ).derive(data_key.encode())

    def digest(self, iban: str) -> str:
        """A keyed fingerprint of an IBAN: equal IBANs compare equal, but it cannot be reversed by
        trying every IBAN without the data key (for idempotency fingerprints and the like)."""
        return hmac.new(self._digest_key, iban.encode(), hashlib.sha256).hexdigest()

    def seal(self, iban: str, mandate_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, iban.encode(), mandate_id.encode())
        return f"{VERSION}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, mandate_id: str) -> str:
        version, _, body = sealed.partition(".")
        if version != VERSION:
            raise SealBroken(f"unknown seal version {version!r}")
        raw = base64.urlsafe_b64decode(body.encode())
        try:
            return self._aead.decrypt(raw[:12], raw[12:], mandate_id.encode()).decode()
        except InvalidTag:
            raise SealBroken(f"the IBAN of mandate {mandate_id} does not open with this data key") from None

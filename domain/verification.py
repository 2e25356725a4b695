"""Account verification: the signed token in the emailed link, the link itself, the process id."""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import parseaddr

PROCESS = "AccountVerification"
_CONTEXT = b"multibill/account-verification/v1:"


def make_token(secret: str, account_id: str) -> str:
    """The token for an account's verification link: HMAC-SHA256, urlsafe base64 without padding.

    Deterministic, so a retried email carries the same token as the first attempt.
    """
    if not secret:
        raise ValueError("a verification token needs a non-empty secret")
    digest = hmac.new(secret.encode(), _CONTEXT + account_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_token(secret: str, account_id: str, token: str) -> bool:
    """Whether ``token`` is this account's token, compared in constant time."""
    if not secret or not token:
        return False
    return hmac.compare_digest(make_token(secret, account_id).encode(), token.encode())


def verification_link(public_url: str, account_id: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/portal/verify/{account_id}?token={token}"


def workflow_id_for(account_id: str) -> str:
    """The AccountVerification workflow id: one verification process per account at a time."""
    return f"account-verification-{account_id}"


def email_message_id(process_id: str, run_id: str, sender: str) -> str:
    """An RFC 5322 Message-ID derived from the process run, so a retried email is recognisably the same.

    The run id keeps a later verification of the same account (same process id, new run) distinct,
    since mail systems drop messages whose Message-ID they have already seen.
    """
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "multibill.local"
    return f"<{process_id}.{run_id}@{domain}>"

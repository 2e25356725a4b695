"""Account verification: the signed token in the emailed link, and the link itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import parseaddr

PROCESS = "AccountVerification"
_CONTEXT = b"multibill/account-verification/v1:"


def make_token(secret: str, account_id: str, email: str) -> str:
    """The token for an account's verification link: HMAC-SHA256, urlsafe base64 without padding.

    It signs the account and the address it was sent to, so a link sent to an earlier address never
    confirms a later one. Deterministic, so a retried email carries the same token as the first attempt.
    """
    if not secret:
        raise ValueError("a verification token needs a non-empty secret")
    message = _CONTEXT + account_id.encode() + b"\n" + email.strip().lower().encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_token(secret: str, account_id: str, email: str, token: str) -> bool:
    """Whether ``token`` is this account's token for ``email``, compared in constant time."""
    if not secret or not token:
        return False
    return hmac.compare_digest(make_token(secret, account_id, email).encode(), token.encode())


def verification_link(public_url: str, account_id: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/portal/verify/{account_id}?token={token}"


def status_after_email_change(status: str, *, asked: bool) -> str:
    """An account's verification status once its address changed: the old confirmation is void.

    A new address is verified again when asked, or when the old one was verified or being verified.
    """
    return "pending" if asked or status in ("verified", "pending") else "not_requested"


def outcome_is_superseded(current_process_id: str | None, status: str, process_id: str) -> bool:
    """Whether a verification process's outcome no longer concerns the account (its address changed)."""
    if status == "not_requested":
        return True
    return current_process_id is not None and current_process_id != process_id


def email_message_id(process_id: str, run_id: str, sender: str) -> str:
    """An RFC 5322 Message-ID derived from the process run, so a retried email is recognisably the same.

    The run id keeps a later verification of the same account (same process id, new run) distinct,
    since mail systems drop messages whose Message-ID they have already seen.
    """
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or "multibill.local"
    return f"<{process_id}.{run_id}@{domain}>"

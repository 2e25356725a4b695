"""Account verification: the email's text in the subscriber's language, and recording whether the
subscriber confirmed (in the caller's transaction)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from temporalio.exceptions import ApplicationError

from activities.accounts.io import RecordVerificationOutcome, VerificationOutcomeRecorded
from activities.events.outbox import record
from activities.events.snapshots import account_data
from domain.events import BusinessEvent
from domain.verification import outcome_is_superseded
from models.accounts import Account


def record_outcome(session: Session, request: RecordVerificationOutcome) -> VerificationOutcomeRecorded:
    """Set the account's verification status; a verified account stays verified, and the outcome of a
    process the account no longer waits for (its address changed since) is ignored."""
    account = session.get(Account, request.account_id, with_for_update=True)
    if account is None:
        raise ApplicationError(
            f"account {request.account_id} does not exist", type="AccountNotFound", non_retryable=True
        )
    superseded = outcome_is_superseded(
        account.verification_process_id, account.verification_status, request.process_id
    )
    changed = not superseded and account.verification_status not in ("verified", request.outcome)
    if changed:
        account.verification_status = request.outcome
        account.verified_at = request.decided_at if request.outcome == "verified" else None
        account.verification_process_id = request.process_id
        account.version += 1
        if request.outcome == "verified":
            event = BusinessEvent(
                "account.verified", account.organisation_id, "account", account.id, account_data(account)
            )
            record(session, event)
    return VerificationOutcomeRecorded(
        account_id=account.id,
        verification_status=account.verification_status,
        verified_at=account.verified_at,
        changed=changed,
    )


def _spanish(language: str) -> bool:
    return language.lower().startswith("es")


def verification_subject(language: str) -> str:
    subject = "Confirm your email address"
    return f"{subject} / Confirma tu dirección de correo" if _spanish(language) else subject


def verification_text(display_name: str, link: str, language: str) -> str:
    english = (
        f"Hello {display_name},\n\n"
        "Please confirm your email address by opening this link:\n\n"
        f"{link}\n\n"
        "If you did not open an account with us, you can ignore this message.\n"
    )
    if not _spanish(language):
        return english
    spanish = (
        f"Hola {display_name}:\n\n"
        "Confirma tu dirección de correo abriendo este enlace:\n\n"
        f"{link}\n\n"
        "Si no has abierto una cuenta con nosotros, puedes ignorar este mensaje.\n"
    )
    return f"{english}\n---\n\n{spanish}"

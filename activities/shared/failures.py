"""Business-rule refusals carried through Temporal and back to the API caller.

An activity that refuses a request (a ``RuleViolation``: refund above what was paid, a declined top-up,
an order that is not failed) fails its process with a non-retryable ``ApplicationError`` carrying the
status, code and field; the API route waiting for the process turns it back into the same
``RuleViolation``, so the caller gets the same problem+json as when the route did the work itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio.exceptions import ApplicationError

from domain.errors import RuleViolation

RULE_VIOLATION = "RuleViolation"
GATEWAY_UNAVAILABLE = "GatewayUnavailable"


def refusal(err: RuleViolation) -> ApplicationError:
    """The non-retryable failure that carries ``err`` to whoever waits for the process."""
    details = {"status": err.status, "code": err.code, "field": err.field}
    return ApplicationError(err.message, details, type=RULE_VIOLATION, non_retryable=True)


@contextmanager
def refusals_fail_the_process() -> Iterator[None]:
    """Raise a ``RuleViolation`` of the block as its non-retryable ``refusal``."""
    try:
        yield
    except RuleViolation as err:
        raise refusal(err) from err


def _causes(error: BaseException | None) -> Iterator[BaseException]:
    while error is not None:
        yield error
        error = error.__cause__


def rule_violation_of(error: BaseException) -> RuleViolation | None:
    """The refusal (or the unavailable gateway) somewhere in a process failure's causes, rebuilt."""
    for cause in _causes(error):
        if not isinstance(cause, ApplicationError):
            continue
        if cause.type == RULE_VIOLATION and cause.details:
            details: dict[str, Any] = dict(cause.details[0])
            rebuilt = RuleViolation(str(details["code"]), cause.message, field=details.get("field"))
            rebuilt.status = int(details["status"])
            return rebuilt
        if cause.type == GATEWAY_UNAVAILABLE:
            rebuilt = RuleViolation(
                "gateway_unavailable", f"{cause.message}; retry with the same Idempotency-Key"
            )
            rebuilt.status = 503
            return rebuilt
    return None

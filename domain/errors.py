"""Errors the domain and activities raise; the API reports them as problem+json."""

from __future__ import annotations


class RuleViolation(ValueError):
    """A request breaks a business rule. ``code`` is stable and machine-readable; ``field`` is optional."""

    status = 422

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Conflict(RuleViolation):
    status = 409


class NotFound(RuleViolation):
    """The thing does not exist, or belongs to an organisation the caller cannot see."""

    status = 404

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(
            f"{kind}_not_found", f"No {kind.replace('_', ' ')} {ident} exists or it is not yours"
        )

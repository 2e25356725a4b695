"""Who is calling: the principal of an API key and the organisation subtree it may see.

A plain value (no I/O), so activity inputs that carry the caller (activities/*/io.py) can hold it; the
queries that narrow to the subtree are in activities/shared/visibility.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.organisations import OrganisationKind, Role


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, its role, and the subtree of organisations it may see."""

    key_id: str
    organisation_id: str
    organisation_path: str
    role: Role
    organisation_kind: str = ""  # the key's organisation's kind; "" when not loaded

    @property
    def is_operator(self) -> bool:
        """Whether the key belongs to an operator (the root of a tree), not to a partner under it."""
        return self.organisation_kind == OrganisationKind.OPERATOR.value


__all__ = ["Principal"]

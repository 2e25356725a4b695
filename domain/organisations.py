"""The operator's partner network as a tree, and who may do what in it."""

from __future__ import annotations

from enum import StrEnum


class OrganisationKind(StrEnum):
    OPERATOR = "operator"
    PARTNER = "partner"
    RESELLER = "reseller"
    OUTLET = "outlet"


class Role(StrEnum):
    """The role an API key carries inside its organisation's subtree."""

    ADMIN = "admin"  # operator admin: everything, including organisations and keys
    AGENT = "agent"  # care or outlet agent: customers and their processes
    INTEGRATOR = "integrator"  # a system integration: customers and processes, no staff management


# Which kinds of organisation may sit directly under which.
ALLOWED_CHILDREN: dict[OrganisationKind, frozenset[OrganisationKind]] = {
    OrganisationKind.OPERATOR: frozenset(
        {OrganisationKind.PARTNER, OrganisationKind.RESELLER, OrganisationKind.OUTLET}
    ),
    OrganisationKind.PARTNER: frozenset({OrganisationKind.RESELLER, OrganisationKind.OUTLET}),
    OrganisationKind.RESELLER: frozenset({OrganisationKind.OUTLET}),
    OrganisationKind.OUTLET: frozenset(),
}

MAX_DEPTH = 8

# Settings only an operator organisation carries (its partners inherit them).
OPERATOR_SETTINGS: frozenset[str] = frozenset(
    {"rounding_mode", "voucher_max_value_minor", "top_up_max_minor"}
)


def may_parent(parent: OrganisationKind, child: OrganisationKind) -> bool:
    return child in ALLOWED_CHILDREN[parent]


def child_path(parent_path: str, child_id: str) -> str:
    """Materialised path of a child: ``/org_A/org_B/``; a subtree is every path with this prefix."""
    return f"{parent_path}{child_id}/"


def depth(path: str) -> int:
    return path.strip("/").count("/") + 1 if path.strip("/") else 0

"""Factories: each test makes its own organisation tree, keys and accounts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from activities.accounts.organisations import create_organisation, mint_api_key
from domain.organisations import OrganisationKind, Role
from models.base import unit_of_work


@dataclass(frozen=True)
class Tenant:
    organisation_id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post_headers(self, key: str | None = None) -> dict[str, str]:
        return {**self.auth, "Idempotency-Key": key or uuid.uuid4().hex}


def make_operator(database_url: str, *, role: Role = Role.ADMIN, name: str = "Test Operator") -> Tenant:
    with unit_of_work(database_url) as session:
        org = create_organisation(
            session, name=name, kind=OrganisationKind.OPERATOR, parent=None, country="ES"
        )
        _, token = mint_api_key(session, organisation=org, role=role, name="test key")
        return Tenant(org.id, token)


def make_child(
    database_url: str,
    parent_id: str,
    *,
    kind: OrganisationKind = OrganisationKind.PARTNER,
    role: Role = Role.ADMIN,
) -> Tenant:
    from models.organisations import Organisation

    with unit_of_work(database_url) as session:
        parent = session.get(Organisation, parent_id)
        org = create_organisation(
            session, name=f"{kind.value} {uuid.uuid4().hex[:6]}", kind=kind, parent=parent, country="ES"
        )
        _, token = mint_api_key(session, organisation=org, role=role, name="test key")
        return Tenant(org.id, token)


def person(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "person",
        "given_name": "Ana",
        "family_name": "Ruiz",
        "email": f"ana.{uuid.uuid4().hex[:8]}@example.com",
        "phone": "+34 600 123 456",
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "language": "es",
        "addresses": [
            {
                "kind": "billing",
                "line1": "Calle Mayor 1",
                "city": "Madrid",
                "postal_code": "28013",
                "country": "ES",
            }
        ],
    }
    body.update(overrides)
    return body


def company(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "company",
        "legal_name": "Acme Redes S.L.",
        "registration_number": "B12345678",
        "email": f"billing.{uuid.uuid4().hex[:8]}@acme.example",
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "tax_status": "taxable",
        "tax_id": "ESB12345678",
        "contacts": [{"name": "Luis Gil", "role": "accounts payable", "email": "luis@acme.example"}],
    }
    body.update(overrides)
    return body

"""Transaction scripts of the branding: read with defaults, replace, upload a logo, find by host."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from activities.branding.io import Branding, FooterLink
from domain import branding as rules
from domain.errors import Conflict, NotFound
from models.branding import PortalBranding, PortalHost
from models.identity import OAuthClient
from models.organisations import Organisation

LOGO_PATH = "/v1/app-config/logo?operator={organisation_id}&v={version}"


def _operator(session: Session, organisation_id: str) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None or org.kind != "operator":
        raise NotFound("operator", organisation_id)
    return org


def _as_branding(row: PortalBranding, hosts: list[str]) -> Branding:
    logo = row.logo_url
    if row.logo_data is not None:
        logo = LOGO_PATH.format(organisation_id=row.organisation_id, version=row.version)
    return Branding(
        organisation_id=row.organisation_id,
        name=row.name,
        logo_url=logo,
        colours=dict(row.colours),
        font_family=row.font_family,
        footer_links=[FooterLink(**link) for link in row.footer_links],
        support_email=row.support_email,
        support_phone=row.support_phone,
        support_hours=row.support_hours,
        hosts=sorted(hosts),
        default_language=row.default_language,
        version=row.version,
    )


def _hosts(session: Session, organisation_id: str) -> list[str]:
    return list(
        session.scalars(sa.select(PortalHost.host).where(PortalHost.organisation_id == organisation_id))
    )


def branding_of(session: Session, organisation_id: str) -> Branding:
    """The operator's branding, or the defaults with its name when it never set one."""
    row = session.get(PortalBranding, organisation_id)
    if row is None:
        return Branding(organisation_id=organisation_id, name=_operator(session, organisation_id).name)
    return _as_branding(row, _hosts(session, organisation_id))


def save_branding(
    session: Session, organisation_id: str, wanted: Branding, *, logo_url_set: bool
) -> Branding:
    """Replace the operator's branding (values already validated by domain.branding); an uploaded logo
    stays unless ``logo_url`` was given. A host another operator uses is a 409 ``host_taken``."""
    _operator(session, organisation_id)
    row = session.get(PortalBranding, organisation_id, with_for_update=True)
    if row is None:
        row = PortalBranding(organisation_id=organisation_id, version=0)
        session.add(row)
    row.name = wanted.name
    if logo_url_set:
        row.logo_url, row.logo_type, row.logo_data = wanted.logo_url, None, None
    row.colours = dict(wanted.colours)
    row.font_family = wanted.font_family
    row.footer_links = [link.model_dump() for link in wanted.footer_links]
    row.support_email = wanted.support_email
    row.support_phone = wanted.support_phone
    row.support_hours = wanted.support_hours
    row.default_language = wanted.default_language
    row.version = (row.version or 0) + 1
    session.flush()
    _replace_hosts(session, organisation_id, wanted.hosts)
    return _as_branding(row, list(wanted.hosts))


def _replace_hosts(session: Session, organisation_id: str, hosts: list[str]) -> None:
    session.execute(sa.delete(PortalHost).where(PortalHost.organisation_id == organisation_id))
    for host in sorted(set(hosts)):
        try:
            with session.begin_nested():
                session.add(PortalHost(host=host, organisation_id=organisation_id))
                session.flush()
        except IntegrityError as exc:
            raise Conflict("host_taken", f"The host {host} already serves another operator's portal") from exc


def save_logo(session: Session, organisation_id: str, data: bytes, content_type: str) -> Branding:
    """Store an uploaded logo (type and size checked by domain.branding); needs a branding first."""
    kind = rules.logo_type(data, content_type)
    row = session.get(PortalBranding, organisation_id, with_for_update=True)
    if row is None:
        raise NotFound("branding", organisation_id)
    row.logo_data, row.logo_type, row.logo_url = data, kind, None
    row.version += 1
    session.flush()
    return _as_branding(row, _hosts(session, organisation_id))


def logo_of(session: Session, organisation_id: str) -> tuple[bytes, str] | None:
    row = session.get(PortalBranding, organisation_id)
    if row is None or row.logo_data is None or row.logo_type is None:
        return None
    return row.logo_data, row.logo_type


def operator_for_host(session: Session, host: str) -> str | None:
    found = session.get(PortalHost, host.lower())
    return found.organisation_id if found else None


def only_operator(session: Session) -> str | None:
    """The operator organisation when the database has exactly one."""
    ids = list(session.scalars(sa.select(Organisation.id).where(Organisation.kind == "operator").limit(2)))
    return ids[0] if len(ids) == 1 else None


def app_client_id(session: Session, organisation_id: str) -> str | None:
    """The operator's (first registered, live) OAuth client for its app, if it has one."""
    return session.scalar(
        sa.select(OAuthClient.id)
        .where(OAuthClient.organisation_id == organisation_id, OAuthClient.revoked_at.is_(None))
        .order_by(OAuthClient.created_at, OAuthClient.id)
        .limit(1)
    )


def is_operator(session: Session, organisation_id: str) -> bool:
    org = session.get(Organisation, organisation_id)
    return org is not None and org.kind == "operator"

"""The tree path of an organisation (``/org_a/org_b/``), the ``OrganisationPath`` a process is started with.

A path never changes once the organisation exists, so each is read once per process and kept (a bounded
cache); an organisation that does not exist (yet) is not cached and has no path.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from models.base import unit_of_work
from models.organisations import Organisation
from runtime.settings import Settings

MAX_CACHED = 10_000
_paths: dict[tuple[str, str], str] = {}


def read_path(database_url: str, organisation_id: str) -> str | None:
    """The organisation's path, from the cache or the database (blocking)."""
    known = _paths.get((database_url, organisation_id))
    if known is not None:
        return known
    with unit_of_work(database_url) as session:
        path = session.execute(
            select(Organisation.path).where(Organisation.id == organisation_id)
        ).scalar_one_or_none()
    if path is not None:
        if len(_paths) >= MAX_CACHED:
            _paths.clear()
        _paths[(database_url, organisation_id)] = path
    return path


async def organisation_path(settings: Settings, organisation_id: str | None) -> str | None:
    """The organisation's path, or None without an organisation or a database to read it from."""
    if not organisation_id or not settings.database_url:
        return None
    return await asyncio.to_thread(read_path, settings.database_url, organisation_id)

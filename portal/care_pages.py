"""Portal pages of the subscriber's rewards and care (filled in below)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/portal", include_in_schema=False)

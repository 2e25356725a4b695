"""GET /healthz: the state of the database and of Temporal (503 when either is down), and the plug-ins a
raising factory disabled (reported; they do not make the API unhealthy)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from api.deps import TemporalGateway
from api.errors import problem_headers
from models.base import engine_for

router = APIRouter(tags=["health"])
logger = logging.getLogger("multibill.api")


def _database(url: str | None) -> dict[str, Any]:
    if not url:
        logger.warning("healthz: DATABASE_URL is not configured")
        return {"status": "down", "error": "database unavailable"}
    started = time.perf_counter()
    try:
        with engine_for(url).connect() as conn:
            revision = conn.execute(text("select version_num from alembic_version")).scalar()
    except Exception:
        # The driver's message names hosts, ports and users: logs only, never this unauthenticated page.
        logger.warning("healthz: database unavailable", exc_info=True)
        return {"status": "down", "error": "database unavailable"}
    return {
        "status": "up",
        "migration": revision,
        "latency_ms": round((time.perf_counter() - started) * 1000),
    }


async def _temporal(gateway: TemporalGateway) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        client = await gateway.client()
        await asyncio.wait_for(client.service_client.check_health(), timeout=3)
    except Exception:
        logger.warning("healthz: Temporal unavailable", exc_info=True)
        return {"status": "down", "error": "temporal unavailable"}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000)}


class DependencyHealth(BaseModel):
    status: Literal["up", "down"]
    error: str | None = Field(default=None, description="When down: what is down (details in the logs)")
    latency_ms: int | None = Field(default=None, description="When up")
    migration: str | None = Field(default=None, description="The database's migration revision")


class DisabledPluginOut(BaseModel):
    group: str = Field(
        description="multibill.gateways, multibill.provisioning, multibill.notifiers or multibill.partners"
    )
    entry_point: str
    package: str
    error: str = Field(description="What its factory raised")


class PluginsHealth(BaseModel):
    disabled: list[DisabledPluginOut] = Field(
        default_factory=list, description="Plug-ins whose factory raised: off, the rest runs"
    )


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: DependencyHealth
    temporal: DependencyHealth
    plugins: PluginsHealth = Field(default_factory=PluginsHealth)


@router.get(
    "/healthz",
    response_model=Health,
    summary="Health of the database and Temporal",
    responses={
        200: {"description": "The state of each dependency"},
        503: {"model": Health, "description": "A dependency is down (details in logs)"},
    },
)
async def healthz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    database = await run_in_threadpool(_database, settings.database_url)
    temporal = await _temporal(request.app.state.temporal)
    healthy = database["status"] == "up" and temporal["status"] == "up"
    body = {
        "status": "ok" if healthy else "degraded",
        "database": database,
        "temporal": temporal,
        "plugins": {"disabled": getattr(request.app.state, "disabled_plugins", [])},
    }
    headers = {} if healthy else problem_headers(503)
    return JSONResponse(body, status_code=200 if healthy else 503, headers=headers)

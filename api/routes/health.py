"""GET /healthz: the state of the database and of Temporal; 503 when either is down."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import TemporalGateway
from models.base import engine_for

router = APIRouter(tags=["health"])


def _database(url: str | None) -> dict[str, Any]:
    if not url:
        return {"status": "down", "error": "DATABASE_URL is not configured"}
    started = time.perf_counter()
    try:
        with engine_for(url).connect() as conn:
            revision = conn.execute(text("select version_num from alembic_version")).scalar()
    except Exception as exc:
        return {"status": "down", "error": f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"}
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
    except Exception as exc:
        return {"status": "down", "error": getattr(exc, "detail", None) or exc.__class__.__name__}
    return {"status": "up", "latency_ms": round((time.perf_counter() - started) * 1000)}


@router.get("/healthz", summary="Health of the database and Temporal")
async def healthz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    database = await run_in_threadpool(_database, settings.database_url)
    temporal = await _temporal(request.app.state.temporal)
    healthy = database["status"] == "up" and temporal["status"] == "up"
    body = {"status": "ok" if healthy else "degraded", "database": database, "temporal": temporal}
    return JSONResponse(body, status_code=200 if healthy else 503)

"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.deps import ServicesDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    body: dict[str, Any] = {}
    try:
        async with services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        body["database"] = "ok"
    except Exception as error:
        return JSONResponse(
            {"status": "down", "reason": f"database: {type(error).__name__}", "database": "down"}, 503
        )
    nlu = services.nlu
    degraded_reason = getattr(nlu, "degraded_reason", None)
    body["nlu"] = "rasa" if services.settings.rasa_url else "embedded"
    if not await nlu.is_ready():
        return JSONResponse({"status": "down", "reason": "nlu backend not ready", **body}, 503)
    problems = [p for p in (degraded_reason, *services.config_errors.values()) if p]
    if problems:
        return JSONResponse({"status": "degraded", "reason": "; ".join(map(str, problems)), **body}, 503)
    return JSONResponse({"status": "ok", **body})


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

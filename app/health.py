"""``/healthz``, ``/readyz``, ``/metrics``, and the answer while the database is unreachable."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from app.deps import ServicesDep
from nlu.cascade import LocalFirstNlu
from nlu.client import NluClient
from nlu.resilient import FailoverNlu

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)

# Raised when the database is restarting, refusing connections or cut off (a stopped
# PostgreSQL surfaces as a bare ConnectionRefusedError from the driver).
DATABASE_UNAVAILABLE = (sa_exc.DBAPIError, sa_exc.TimeoutError, ConnectionError)
# Errors in what we asked, not in reaching the database: a bug, not an outage.
_STATEMENT_ERRORS = (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.DataError)
RETRY_AFTER_SECONDS = 1


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
    ready, degraded_reason = await nlu_readiness(services.nlu)
    body["nlu"] = "rasa" if services.settings.rasa_url else "embedded"
    if not ready:
        return JSONResponse({"status": "down", "reason": "nlu backend not ready", **body}, 503)
    problems = [p for p in (degraded_reason, *services.config_errors.values()) if p]
    if problems:
        return JSONResponse({"status": "degraded", "reason": "; ".join(map(str, problems)), **body}, 503)
    return JSONResponse({"status": "ok", **body})


async def nlu_readiness(nlu: NluClient) -> tuple[bool, str | None]:
    """Whether some engine can answer, and why answers are degraded (Rasa down, slow or failed over).

    Rasa's own readiness is asked each time: the breaker opens only after several failed
    messages, and a hub whose Rasa is down must not report "ok" until then.
    """
    if isinstance(nlu, LocalFirstNlu):
        nlu = nlu.remote
    if not isinstance(nlu, FailoverNlu):
        return await nlu.is_ready(), getattr(nlu, "degraded_reason", None)
    primary_ready = await nlu.primary.is_ready()
    reason = nlu.degraded_reason
    if reason is None and not primary_ready:
        reason = f"{nlu.primary.name} is not ready; answering with {nlu.fallback.name}"
    return primary_ready or await nlu.fallback.is_ready(), reason


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """503 while the database cannot be reached: the sender (LINE, Messenger, a browser) retries.

    Handled here rather than left to the server: an unhandled error makes uvicorn close the
    connection after its 500, so a client reusing that keep-alive connection gets no answer.
    """
    if isinstance(error, _STATEMENT_ERRORS):
        log.error("database_statement_failed", exc_info=error, extra={"path": request.url.path})
        return JSONResponse({"detail": "internal error"}, 500)
    log.warning("database_unavailable", extra={"path": request.url.path, "error": type(error).__name__})
    return JSONResponse(
        {"detail": "database unavailable, retry later"},
        503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_database_error_handler(app: FastAPI) -> None:
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, database_unavailable)

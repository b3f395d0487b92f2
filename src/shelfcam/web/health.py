"""Open routes: /healthz and /metrics. They reveal no names, tokens or images."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout

from shelfcam.metrics import PROMETHEUS_CONTENT_TYPE
from shelfcam.web.context import AppContext, get_context

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Liveness and database reachability",
    responses={503: {"description": "The database is unreachable"}},
)
async def healthz(context: Annotated[AppContext, Depends(get_context)]) -> JSONResponse:
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        async with context.require_pool().connection(timeout=2) as conn:
            await conn.execute("SELECT 1")
    except (psycopg.Error, PoolTimeout, OSError):
        body = {"status": "unavailable", "database": "unreachable"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(context: Annotated[AppContext, Depends(get_context)]) -> Response:
    return Response(context.metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

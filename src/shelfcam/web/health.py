"""Open routes: /healthz and /metrics. They reveal no names, tokens or images.

/healthz answers 200 ``{"status": "ok", ...}`` when this process can do its work, else 503
``{"status": "unavailable", "reason": ...}`` (with ``Retry-After``) when

* the database does not answer;
* the analysis worker of this process (``shelfcam serve``) has sent no heartbeat for
  longer than SHELFCAM_HEALTH_MAX_HEARTBEAT_AGE_SECONDS (it restarts itself after a
  failure; this says it has not managed to for that long);
* a frame has waited for analysis longer than SHELFCAM_HEALTH_MAX_QUEUE_AGE_SECONDS.

With outputs configured it also reports each one's state (``outputs``: connected or
failing, backlog, the last delivery's age, the last error, how many were dropped) and
whether this process delivers them (``deliverer``); an output that is down does not make
shelfcam unhealthy: its events wait in the outbox (docs/integrations.md).

With pulled cameras it reports each one's state as the puller last saw it (``pulls``:
connected, failing or waiting, the mode, frames per minute, the last error; never the
URL) and whether this process pulls them (``puller``); a camera that is away does not
make shelfcam unhealthy either (docs/cameras.md).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout

from shelfcam.analysis.tasks import WorkerRunner
from shelfcam.db import jobs
from shelfcam.db.connect import RETRY_AFTER_S
from shelfcam.devices import pulls
from shelfcam.metrics import PROMETHEUS_CONTENT_TYPE
from shelfcam.outputs import status as output_status
from shelfcam.outputs.setup import configured
from shelfcam.web.context import AppContext, get_context

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_S = 2.0


def _unavailable(body: dict[str, Any], problems: list[str]) -> JSONResponse:
    body.update(status="unavailable", reason="; ".join(problems))
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def _worker_age(worker: WorkerRunner, heartbeat_age: float | None) -> float:
    """Seconds since the worker last showed it was alive: its heartbeat's age while it
    runs, else how long it has been failing (or starting)."""
    status = worker.status
    if status.running and heartbeat_age is not None:
        return heartbeat_age
    since = status.failing_since if status.failing_since is not None else status.changed_at
    return time.monotonic() - since


@router.get(
    "/healthz",
    summary="Liveness: database reachable, analysis worker alive, no frame stuck",
    responses={503: {"description": "The database is unreachable, or analysis is stuck"}},
)
async def healthz(context: Annotated[AppContext, Depends(get_context)]) -> JSONResponse:
    settings = context.settings
    worker = context.worker
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    heartbeat_age: float | None = None
    outputs = configured(settings)
    try:
        async with context.require_pool().connection(timeout=CHECK_TIMEOUT_S) as conn:
            await conn.execute("SELECT 1")
            queue_age = await jobs.oldest_queued_age(conn)
            if worker is not None and worker.worker_id is not None:
                heartbeat_age = await jobs.worker_heartbeat_age(conn, worker.worker_id)
            states = await output_status.states(conn, outputs) if outputs else []
            pulled = await pulls.states(conn)
    except (psycopg.Error, PoolTimeout, OSError):
        body["database"] = "unreachable"
        return _unavailable(body, ["the database is unreachable"])
    problems = []
    body["queue_oldest_age_s"] = None if queue_age is None else round(queue_age, 1)
    limit = settings.health_max_queue_age_seconds
    if queue_age is not None and queue_age > limit:
        problems.append(f"a frame has waited {queue_age:.0f} s for analysis (limit {limit} s)")
    if worker is not None:
        status = worker.status
        age = _worker_age(worker, heartbeat_age)
        body["worker"] = {
            "state": "running" if status.running else "restarting",
            "heartbeat_age_s": round(age, 1),
            "restarts": status.restarts,
            "last_error": status.last_error,
        }
        limit = settings.health_max_heartbeat_age_seconds
        if age > limit:
            why = f"; last error: {status.last_error}" if status.last_error else ""
            problems.append(
                f"the analysis worker has shown no sign of life for {age:.0f} s "
                f"(limit {limit} s){why}"
            )
    if outputs:
        now = datetime.now(UTC)
        body["outputs"] = {state.name: state.health(now) for state in states}
        runner = context.outputs
        body["deliverer"] = "not in this process" if runner is None else runner.role
    if pulled or context.puller is not None:
        body["pulls"] = {
            name: {k: v for k, v in state.as_json().items() if k != "url"}
            for name, state in pulled.items()
        }
        body["puller"] = "not in this process" if context.puller is None else context.puller.role
    if problems:
        return _unavailable(body, problems)
    return JSONResponse(body)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(context: Annotated[AppContext, Depends(get_context)]) -> Response:
    return Response(context.metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

"""The job queue (procrastinate on the same PostgreSQL): names, the app, enqueueing.

Analysis jobs carry ``lock=device_id``: procrastinate never runs two jobs with the same
lock at once and takes them in id order, so each camera's frames are analysed one at a
time, while different cameras run in parallel on any number of workers.
"""

from __future__ import annotations

import uuid
from typing import Any

import procrastinate
from psycopg import AsyncConnection

ANALYZE_TASK = "shelfcam.analyze_capture"
ANALYSIS_QUEUE = "analysis"
MAINTENANCE_QUEUE = "maintenance"


def build_app(blueprints: list[procrastinate.Blueprint] | None = None) -> procrastinate.App:
    """A procrastinate app; open it with ``await app.open_async(pool)`` to share a pool."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector())
    for blueprint in blueprints or []:
        app.add_tasks_from(blueprint, namespace="")
    return app


async def enqueue_analysis(
    app: procrastinate.App, conn: AsyncConnection[Any], device_id: str, capture_id: uuid.UUID
) -> int:
    """Queue the analysis of one capture inside the caller's transaction."""
    deferrer = app.configure_task(
        ANALYZE_TASK, lock=device_id, queue=ANALYSIS_QUEUE, connection=conn
    )
    return await deferrer.defer_async(capture_id=str(capture_id))

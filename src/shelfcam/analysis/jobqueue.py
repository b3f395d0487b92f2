"""The job queue (procrastinate on the same PostgreSQL): names and the app.

Analysis jobs carry ``lock=device_id``: procrastinate never runs two jobs with the same
lock at once and takes them in id order, so each camera's frames are analyzed one at a
time, while different cameras run in parallel on any number of workers. Ingest queues its
job in the same SQL statement that records the capture (shelfcam.db.captures).
"""

from __future__ import annotations

import procrastinate

ANALYZE_TASK = "shelfcam.analyze_capture"
RETENTION_TASK = "shelfcam.retention_run"
RETENTION_SWEEP_TASK = "shelfcam.retention_sweep"
DISK_GUARD_TASK = "shelfcam.disk_guard"
ANALYSIS_QUEUE = "analysis"
MAINTENANCE_QUEUE = "maintenance"


def build_app(blueprints: list[procrastinate.Blueprint] | None = None) -> procrastinate.App:
    """A procrastinate app; open it with ``await app.open_async(pool)`` to share a pool."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector())
    for blueprint in blueprints or []:
        app.add_tasks_from(blueprint, namespace="")
    return app

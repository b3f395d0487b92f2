"""``shelfcam demo``: shelfcam on the embedded database with a demo camera.

The analysis pipeline is not built yet: for now the demo starts the server (API and
/healthz) with a demo device and says so.
"""

from __future__ import annotations

import asyncio
import logging

from shelfcam import devices, runtime
from shelfcam.config import Settings
from shelfcam.db import devices as device_queries
from shelfcam.db.connect import connection
from shelfcam.db.migrate import migrate
from shelfcam.web import server

log = logging.getLogger(__name__)

DEMO_DEVICE = "demo-shelf"


async def _ensure_demo_device(url: str) -> str | None:
    """Create the demo camera on first run; return its token then, else None."""
    async with connection(url) as conn:
        if await device_queries.get_device(conn, DEMO_DEVICE) is not None:
            return None
        return (await devices.add_device(conn, DEMO_DEVICE)).token


def run_demo(settings: Settings) -> int:
    with runtime.database(settings) as url:
        migrate(url)
        token = asyncio.run(_ensure_demo_device(url))
        print(f"shelfcam demo: data in {settings.data_dir.resolve()}", flush=True)
        if token:
            print(f"  demo camera {DEMO_DEVICE!r} created; its token: {token}", flush=True)
        print(
            "  the analysis pipeline is not built yet: this demo serves the API only.\n"
            f"  health: http://{settings.host}:{settings.port}/healthz   (Ctrl-C to stop)",
            flush=True,
        )
        server.run(settings, url, with_worker=True)
    return 0

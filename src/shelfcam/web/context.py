"""What every request handler needs, built once by the app factory and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from shelfcam.analysis.tasks import WorkerRunner
from shelfcam.config import Settings
from shelfcam.db.types import Pool
from shelfcam.frames.store import FrameStore
from shelfcam.ingest.service import Ingestor
from shelfcam.metrics import Metrics
from shelfcam.outputs.delivery import OutputsRunner
from shelfcam.pull.runner import PullRunner
from shelfcam.tuning.evidence import RescoreCache


@dataclass
class AppContext:
    settings: Settings
    database_url: str
    store: FrameStore
    metrics: Metrics
    pool: Pool | None = None
    ingestor: Ingestor | None = None
    worker: WorkerRunner | None = None
    """The analysis worker running in this process (``shelfcam serve``), for /healthz."""
    outputs: OutputsRunner | None = None
    """The deliverer of this process (``shelfcam serve`` with an output configured)."""
    puller: PullRunner | None = None
    """The puller of this process (``shelfcam serve``): pulls while it holds the lock."""
    rescore_cache: RescoreCache = field(default_factory=RescoreCache)
    """Rescored event frames for the tuning preview, per (event, roi_version)."""

    def require_pool(self) -> Pool:
        if self.pool is None:  # only before the lifespan has started
            raise RuntimeError("the database pool is not open yet")
        return self.pool

    def forget_device_tokens(self, device_id: str) -> None:
        """This process's ingest stops accepting the device's cached token at once."""
        if self.ingestor is not None:
            self.ingestor.auth.forget(device_id)

    def require_ingestor(self) -> Ingestor:
        if self.ingestor is None:
            raise RuntimeError("ingest is not ready yet")
        return self.ingestor


async def get_context(request: Request) -> AppContext:
    """FastAPI dependency (async, so it runs on the event loop, not in a thread)."""
    context: AppContext = request.app.state.context
    return context

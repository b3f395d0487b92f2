"""Queue tasks and the worker loop: the analysis job per capture and periodic upkeep.

Periodic tasks (procrastinate's scheduler runs in every worker, so in ``shelfcam serve``
and ``shelfcam worker``; each tick is queued once however many workers run):

* retry-stalled (every 15 s): jobs of dead workers (no heartbeat for 30 s) go back to
  the queue;
* retention-nightly (SHELFCAM_RETENTION_HOUR, UTC): the full retention run;
* retention-sweep (every 5 minutes): staging and debug frames nobody needs, and their
  orphans, so they do not wait for the night;
* disk-guard (every minute, and queued at once by ingest when it sees free space under
  SHELFCAM_DISK_GUARD_FREE_MB): oldest event frames deleted until back above the floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import procrastinate
import psycopg
from procrastinate import exceptions as queue_errors
from procrastinate import job_context
from procrastinate import jobs as queue_jobs
from procrastinate import retry as queue_retry
from procrastinate.worker import Worker

from shelfcam.analysis import jobqueue
from shelfcam.analysis.worker import (
    Analyzer,
    FaultHook,
    TransientError,
    process_with_retry_semantics,
)
from shelfcam.config import Settings
from shelfcam.db import jobs
from shelfcam.db.connect import open_pool
from shelfcam.db.types import Pool
from shelfcam.frames.routing import open_frame_store
from shelfcam.frames.store import FrameStore
from shelfcam.metrics import Metrics
from shelfcam.outputs.delivery import running_outputs
from shelfcam.retention.runner import Retention, RetentionBusy
from shelfcam.retention.summary import Scope
from shelfcam.runtime import settle_heap
from shelfcam.supervisor import PartStatus, Supervised

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
RETRY_STALLED_TASK = "shelfcam.retry_stalled_jobs"
STALLED_AFTER_S = 30.0
OUTCOME_RETRY_FIRST_DELAY_S = 0.1
OUTCOME_RETRY_MAX_DELAY_S = 1.0


def build_queue(analyzer: Analyzer, retention: Retention | None = None) -> procrastinate.App:
    """The procrastinate app with shelfcam's tasks bound to this process's analyzer (and
    retention, by default one on the analyzer's settings, pool and store)."""
    app = jobqueue.build_app()
    keeper = retention or Retention(analyzer.settings, analyzer.pool, analyzer.store)

    @app.task(
        name=jobqueue.ANALYZE_TASK,
        queue=jobqueue.ANALYSIS_QUEUE,
        retry=procrastinate.RetryStrategy(
            max_attempts=20, wait=1, linear_wait=1, retry_exceptions={TransientError}
        ),
    )
    async def analyze_capture(capture_id: str) -> None:
        await process_with_retry_semantics(analyzer, uuid.UUID(capture_id))

    @app.periodic(cron="* * * * * */15", periodic_id="retry-stalled")
    @app.task(
        name=RETRY_STALLED_TASK, queue=jobqueue.MAINTENANCE_QUEUE, queueing_lock=RETRY_STALLED_TASK
    )
    async def retry_stalled_jobs(timestamp: int) -> None:
        """Jobs of workers that stopped sending heartbeats (killed, machine lost) go back
        to the queue, so their frames are analyzed by someone else."""
        stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S)
        for job in stalled:
            log.warning(
                "action=job_retried job_id=%s task=%s reason=stalled", job.id, job.task_name
            )
            await app.job_manager.retry_job(job)

    async def run_retention(scope: Scope) -> None:
        try:
            await keeper.run(datetime.now(UTC), scope=scope)
        except RetentionBusy:
            log.info("action=retention_skipped scope=%s reason=another_run_in_progress", scope)

    @app.periodic(cron=f"0 {analyzer.settings.retention_hour} * * *", periodic_id="nightly")
    @app.task(
        name=jobqueue.RETENTION_TASK,
        queue=jobqueue.MAINTENANCE_QUEUE,
        queueing_lock=jobqueue.RETENTION_TASK,
        retry=procrastinate.RetryStrategy(max_attempts=3, wait=300),
    )
    async def retention_run(timestamp: int) -> None:
        """The nightly retention run (docs/retention.md)."""
        await run_retention("full")

    @app.periodic(cron="*/5 * * * *", periodic_id="sweep")
    @app.task(
        name=jobqueue.RETENTION_SWEEP_TASK,
        queue=jobqueue.MAINTENANCE_QUEUE,
        queueing_lock=jobqueue.RETENTION_SWEEP_TASK,
    )
    async def retention_sweep(timestamp: int) -> None:
        """Staging and debug frames nobody needs, between nightly runs."""
        await run_retention("sweep")

    @app.periodic(cron="* * * * *", periodic_id="disk-guard")
    @app.task(
        name=jobqueue.DISK_GUARD_TASK,
        queue=jobqueue.MAINTENANCE_QUEUE,
        queueing_lock=jobqueue.DISK_GUARD_TASK,
    )
    async def disk_guard(timestamp: int = 0) -> None:
        """Free space above SHELFCAM_DISK_GUARD_FREE_MB (also queued by ingest)."""
        await keeper.guard(datetime.now(UTC))

    return app


class OutcomeKeepingWorker(Worker):
    """procrastinate's worker, except that a job's outcome (done, or to be retried) is
    recorded even when the database hiccups at that very moment.

    procrastinate records it once: if that fails (the job's own connection was just killed,
    so the pool's gate is closed for the few milliseconds its probe takes, or the pool hands
    out a connection that died with it), the exception ends the job's asyncio task
    unobserved and the job stays ``doing`` under this worker. The worker lives on and keeps
    its heartbeat fresh, so the stalled-job retry never takes the job back, and every later
    frame of the camera (same lock) waits behind it until the process restarts. Here the
    outcome is recorded again, after a capped backoff, until it is recorded or the worker
    is stopping (then the job goes back to the queue as a dead worker's job does).

    It overrides a private method of procrastinate (3.10, pinned in uv.lock):
    ``tests/e2e/test_worker.py::test_a_frame_whose_connection_dies_is_retried_at_once``
    fails if a new version no longer calls it."""

    async def _persist_job_status(
        self,
        job: queue_jobs.Job,
        status: queue_jobs.Status,
        retry_decision: queue_retry.RetryDecision | None,
        context: job_context.JobContext,
        job_result: job_context.JobResult | None,
    ) -> None:
        delay = OUTCOME_RETRY_FIRST_DELAY_S
        while True:
            try:
                await super()._persist_job_status(job, status, retry_decision, context, job_result)
                return
            except queue_errors.ConnectorException as err:
                lost = isinstance(err.__cause__, psycopg.OperationalError)
                if not lost or self._stop_event.is_set():
                    raise
                log.warning(
                    "action=job_outcome_retry job_id=%s outcome=%s in_s=%.1f error=%s",
                    job.id,
                    "retry" if retry_decision else status.value,
                    delay,
                    type(err.__cause__).__name__,
                )
            await asyncio.sleep(delay)  # the database's return is not announced
            delay = min(delay * 2, OUTCOME_RETRY_MAX_DELAY_S)


class WorkerRunner:
    """The procrastinate worker (and its scheduler) of this process, run again whenever it
    ends: procrastinate stops a worker for good when a database connection fails (a
    fetch, the heartbeat, the listener, the scheduler's tick), so :class:`Supervised`
    starts a new one after a capped backoff. Jobs a failed run left running are put back
    in the queue at once when the next run starts, not after the stalled-job timeout."""

    def __init__(self, app: procrastinate.App, settings: Settings, pool: Pool) -> None:
        self.app = app
        self.settings = settings
        self.pool = pool
        self.worker: Worker | None = None
        self._dead: set[int] = set()
        self.supervised = Supervised("worker", self.run_once)

    @property
    def status(self) -> PartStatus:
        return self.supervised.status

    @property
    def worker_id(self) -> int | None:
        """The running worker's id in procrastinate_workers (its heartbeat's row)."""
        return self.worker.worker_id if self.worker is not None else None

    async def run_once(self) -> None:
        if self._dead:
            dead = sorted(self._dead)
            async with self.pool.connection() as conn:
                requeued = await jobs.requeue_jobs_of_workers(conn, dead)
            self._dead.clear()
            log.info("action=jobs_requeued jobs=%d workers=%s", requeued, dead)
        worker = OutcomeKeepingWorker(
            app=self.app,
            queues=[jobqueue.ANALYSIS_QUEUE, jobqueue.MAINTENANCE_QUEUE],
            concurrency=self.settings.worker_concurrency,
            fetch_job_polling_interval=0.25,
            delete_jobs="successful",
            install_signal_handlers=False,
            name="shelfcam-worker",
        )
        self.worker = worker
        run: Callable[[], Awaitable[None]] = worker.run
        try:
            await run()
        finally:
            self.worker = None
            if worker.worker_id is not None:  # it could not unregister: its jobs wait
                self._dead.add(worker.worker_id)


@contextlib.asynccontextmanager
async def running_worker(
    settings: Settings,
    pool: Pool,
    store: FrameStore,
    metrics: Metrics,
    fault: FaultHook | None = None,
) -> AsyncIterator[WorkerRunner]:
    """A supervised worker loop running as a task on this event loop, stopped on exit
    (the frames in hand are finished first). ``fault``: the analyzer's test hook."""
    analyzer = Analyzer(settings, pool, store, metrics, fault)
    app = build_queue(analyzer)
    await app.open_async(pool)
    runner = WorkerRunner(app, settings, pool)
    task = asyncio.create_task(runner.supervised.run_forever(), name="shelfcam-worker")
    log.info("action=worker_started concurrency=%d", settings.worker_concurrency)
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await app.close_async()
        log.info("action=worker_stopped")


async def run_worker(settings: Settings, database_url: str) -> None:
    """``shelfcam worker``: analyze frames until SIGINT/SIGTERM (the first one finishes
    the frames in hand; a second one stops at once)."""
    pool = await open_pool(database_url, size=settings.worker_concurrency + 4)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    previous = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}

    def restore() -> None:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)

    def stop() -> None:
        restore()  # a second signal goes to the process's own handler: stop at once
        log.info("action=worker_stopping reason=signal")
        stopping.set()

    store, metrics = open_frame_store(settings), Metrics()
    try:
        async with (
            running_worker(settings, pool, store, metrics),
            running_outputs(settings, pool, store, metrics),
        ):
            for sig in _STOP_SIGNALS:
                loop.add_signal_handler(sig, stop)
            log.debug("action=heap_frozen objects=%d", settle_heap())
            await stopping.wait()
    finally:
        if not stopping.is_set():
            restore()
        await pool.close()

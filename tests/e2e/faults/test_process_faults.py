"""kill -9 of every kind of shelfcam process under load: `serve` (which owns the embedded
PostgreSQL), `api` (the owner, with a separate `worker` on its database) and `worker`.
Nothing of a killed process gets a say. The process is started again, as systemd does;
every frame a camera got acknowledged is analyzed exactly once, nothing stays queued, and
nothing is left running after a final orderly stop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.faults.harness import (
    RECOVERY_S,
    STALLED_RECOVERY_S,
    Shelfcam,
    assert_each_frame_analyzed_once,
    cameras,
    wait_acknowledged,
    wait_for,
)
from tests.e2e.processes import postgres_processes

pytestmark = pytest.mark.faults

CAMERAS = ["cam1", "cam2"]


def test_serve_killed_outright_mid_load(tmp_path: Path) -> None:
    shelfcam = Shelfcam(tmp_path / "data", tmp_path)
    pgdata = shelfcam.data_dir.resolve() / "postgres"
    try:
        shelfcam.start("serve", "serve")
        shelfcam.wait_healthy("serve")
        tokens = {name: shelfcam.add_camera(name) for name in CAMERAS}
        with cameras(shelfcam, CAMERAS, tokens) as cams:
            wait_acknowledged(cams, 8)
            shelfcam.kill("serve")
            # Its watchdog stops the PostgreSQL it owned: no server outlives its owner.
            wait_for("the orphaned PostgreSQL stopped", lambda: not postgres_processes(pgdata), 60)
            shelfcam.start("serve-again", "serve")
            shelfcam.wait_healthy("serve-again")
            wait_acknowledged(cams, 8)
        db_url = shelfcam.db_url()
        assert_each_frame_analyzed_once(
            db_url, cams, STALLED_RECOVERY_S, shelfcam.log("serve-again")
        )
    finally:
        shelfcam.stop_all()
    shelfcam.assert_no_orphans()
    assert "action=embedded_orphaned" in shelfcam.log("serve").read_text()


@pytest.mark.parametrize("victim", ["worker", "api"])
def test_api_or_worker_killed_outright_mid_load(tmp_path: Path, victim: str) -> None:
    """`shelfcam api` owns the embedded database; a `shelfcam worker` beside it reuses
    it. Killing the worker leaves its jobs to the stalled-job retry; killing the API
    takes the database down under the worker, which waits for it and goes on."""
    shelfcam = Shelfcam(tmp_path / "data", tmp_path)
    try:
        shelfcam.start("api", "api")
        shelfcam.wait_healthy("api")
        shelfcam.start("worker", "worker")
        tokens = {name: shelfcam.add_camera(name) for name in CAMERAS}
        with cameras(shelfcam, CAMERAS, tokens) as cams:
            wait_acknowledged(cams, 8)
            shelfcam.kill(victim)
            shelfcam.start(f"{victim}-again", victim)
            if victim == "api":
                shelfcam.wait_healthy("api-again")
            wait_acknowledged(cams, 8)
        db_url = shelfcam.db_url()
        timeout = STALLED_RECOVERY_S if victim == "worker" else RECOVERY_S
        worker_log = shelfcam.log("worker-again" if victim == "worker" else "worker")
        assert_each_frame_analyzed_once(db_url, cams, timeout, worker_log)
        wait_for("/healthz back to 200", shelfcam.healthy, RECOVERY_S)
    finally:
        shelfcam.stop_all()
    shelfcam.assert_no_orphans()

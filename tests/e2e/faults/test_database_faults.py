"""The database goes away under load: its backends terminated (what PostgreSQL does to
every session after one backend crashed), on the embedded server and on the machine's;
the embedded server stopped and started again. Cameras keep sending; every frame they
got acknowledged is analyzed exactly once, nothing stays queued, shelfcam reports the
outage on /healthz and recovers by itself, and nothing is left running after it stops."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.e2e.faults.harness import (
    RECOVERY_S,
    Shelfcam,
    assert_each_frame_analyzed_once,
    cameras,
    machine_database,
    start_embedded,
    stop_embedded,
    terminate_backends,
    wait_acknowledged,
    wait_for,
)

pytestmark = pytest.mark.faults


def _ticks_since(db_url: str, epoch: float) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM procrastinate_periodic_defers WHERE defer_timestamp > %s",
            (int(epoch),),
        ).fetchone()
    return int(row[0]) if row else 0


CAMERAS = ["cam1", "cam2", "cam3"]


@pytest.mark.parametrize("server", ["embedded", "machine"])
def test_terminated_backends_mid_load(tmp_path: Path, server: str) -> None:
    with machine_database() as machine_url:
        if server == "machine" and machine_url is None:
            pytest.skip("SHELFCAM_TEST_DATABASE_URL names no machine PostgreSQL")
        url = machine_url if server == "machine" else None
        shelfcam = Shelfcam(tmp_path / "data", tmp_path, database_url=url)
        try:
            shelfcam.start("serve", "serve")
            shelfcam.wait_healthy("serve")
            tokens = {name: shelfcam.add_camera(name) for name in CAMERAS}
            db_url = shelfcam.db_url()
            with cameras(shelfcam, CAMERAS, tokens) as cams:
                wait_acknowledged(cams, 8)
                for _ in range(3):
                    assert terminate_backends(db_url) > 0
                    wait_acknowledged(cams, 8)
            last_fault = time.time()
            assert_each_frame_analyzed_once(db_url, cams, RECOVERY_S, shelfcam.log("serve"))
            wait_for("/healthz back to 200", shelfcam.healthy, RECOVERY_S)
            # The scheduler (disk guard, sweeps, retention, stalled jobs) ticks again.
            wait_for(
                "a periodic task deferred after the faults",
                lambda: _ticks_since(db_url, last_fault) > 0,
                RECOVERY_S,
            )
        finally:
            shelfcam.stop_all()
        shelfcam.assert_no_orphans()
    # No 500 and no frame given up on: shelfcam's own loggers wrote no error.
    log = shelfcam.log("serve").read_text()
    assert "level=ERROR logger=shelfcam" not in log, log[-4000:]


def test_embedded_postgres_stopped_and_started_mid_load(tmp_path: Path) -> None:
    shelfcam = Shelfcam(tmp_path / "data", tmp_path)
    try:
        shelfcam.start("serve", "serve")
        shelfcam.wait_healthy("serve")
        tokens = {name: shelfcam.add_camera(name) for name in CAMERAS}
        db_url = shelfcam.db_url()
        with cameras(shelfcam, CAMERAS, tokens) as cams:
            wait_acknowledged(cams, 8)
            pgdata, options = stop_embedded(shelfcam.data_dir)
            wait_for(
                "every camera told 503 with Retry-After",
                lambda: all(c.failures.get("503") for c in cams),
                RECOVERY_S,
            )
            health = httpx.get(f"{shelfcam.base}/healthz", timeout=10)
            assert health.status_code == 503
            assert health.headers["retry-after"]
            assert health.json()["reason"] == "the database is unreachable"
            page = httpx.get(f"{shelfcam.base}/", headers={"Accept": "text/html"}, timeout=10)
            assert page.status_code in (303, 503)  # no session: the login redirect, or 503
            start_embedded(pgdata, options)
            wait_acknowledged(cams, 8)
        assert_each_frame_analyzed_once(db_url, cams, RECOVERY_S, shelfcam.log("serve"))
        wait_for("/healthz back to 200", shelfcam.healthy, RECOVERY_S)
    finally:
        shelfcam.stop_all()
    shelfcam.assert_no_orphans()

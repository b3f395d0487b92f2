"""The embedded PostgreSQL starts, is reused by a second command, and never outlives
the process that started it, whichever way that process is stopped."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.e2e.processes import (
    free_port,
    gone,
    postgres_processes,
    shelfcam_env,
    start,
    wait_healthy,
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lifecycle") / "data"


def _signal_process(sig: int, times: int = 1) -> Callable[[subprocess.Popen[bytes]], None]:
    def send(proc: subprocess.Popen[bytes]) -> None:
        for _ in range(times):
            proc.send_signal(sig)

    return send


def _signal_group(sig: int, times: int = 1) -> Callable[[subprocess.Popen[bytes]], None]:
    def send(proc: subprocess.Popen[bytes]) -> None:
        for _ in range(times):
            os.killpg(proc.pid, sig)

    return send


STOPS = {
    "sigint": (_signal_process(signal.SIGINT), False),
    "sigterm": (_signal_process(signal.SIGTERM), False),
    "sigterm_twice": (_signal_process(signal.SIGTERM, 2), False),
    "ctrl_c_twice_in_terminal": (_signal_group(signal.SIGINT, 2), True),
    "systemd_group_sigterm": (_signal_group(signal.SIGTERM), True),
}


@pytest.mark.parametrize("how", sorted(STOPS))
def test_serve_leaves_no_postgres_behind(data_dir: Path, tmp_path: Path, how: str) -> None:
    stop, via_uv = STOPS[how]
    if via_uv and shutil.which("uv") is None:
        pytest.skip("uv is not on PATH")
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start(["serve"], shelfcam_env(data_dir, port), log, via_uv=via_uv)
    try:
        wait_healthy(port, proc, log)
        running = postgres_processes(data_dir / "postgres")
        assert running, "the embedded postmaster should be running"
        stop(proc)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert gone(running) == [], log.read_text()
    assert "action=embedded_stop" in log.read_text()


def test_second_command_reuses_the_running_server(data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = shelfcam_env(data_dir, port)
    proc = start(["serve"], env, log)
    try:
        wait_healthy(port, proc, log)
        running = postgres_processes(data_dir / "postgres")
        result = subprocess.run(
            [sys.executable, "-m", "shelfcam", "db", "url"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        url = result.stdout.strip()
        assert "action=embedded_reuse" in result.stderr
        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT count(*) FROM shelfcam_schema_version").fetchone()
        assert tables is not None and tables[0] >= 2
        # The second command ended; the server it borrowed is still up for its owner.
        assert gone(running) == running
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert gone(running) == []


def test_short_command_stops_the_server_it_started(data_dir: Path, tmp_path: Path) -> None:
    env = shelfcam_env(data_dir, free_port())
    result = subprocess.run(
        [sys.executable, "-m", "shelfcam", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    assert "action=embedded_start" in result.stderr
    assert "action=embedded_stop" in result.stderr
    assert postgres_processes(data_dir / "postgres") == []


def _watchdogs(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "shelfcam.db.pgwatch" in cmdline and str(data_dir / "postgres") in cmdline:
            found.append(proc)
    return found


def test_serve_killed_outright_leaves_no_postgres_behind(data_dir: Path, tmp_path: Path) -> None:
    """kill -9 skips every finally: the watchdog started with the server stops it."""
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start(["serve"], shelfcam_env(data_dir, port), log)
    try:
        wait_healthy(port, proc, log)
        running = postgres_processes(data_dir / "postgres")
        assert running, "the embedded postmaster should be running"
        assert len(_watchdogs(data_dir)) == 1
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 60
        while gone(running) or _watchdogs(data_dir):
            assert time.monotonic() < deadline, f"postgres outlived serve:\n{log.read_text()}"
            time.sleep(0.1)  # polling for the processes to end, with a deadline
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert "action=embedded_orphaned" in log.read_text()
    assert not (data_dir / "postgres.owner").exists()

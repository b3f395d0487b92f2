"""``shelfcam demo`` as a user runs it: a real process on a fresh data dir, events arriving
from the simulated cameras, the printed login working, Ctrl-C leaving no PostgreSQL behind,
and a second run reusing the cameras and the login."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.processes import (
    free_port,
    gone,
    postgres_processes,
    shelfcam_env,
    start,
    wait_healthy,
)

# Part of the default suite (`uv run pytest`); two demo runs take about a minute.
pytestmark = pytest.mark.timeout(300)

FIRST_EVENT_LIMIT_S = 150.0
PASSWORD_LINE = re.compile(r"log in: user demo, password (\S+)\n")


def _wait_for(
    what: str, check: Callable[[], Any], proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> Any:
    """Poll ``check`` until it returns something truthy (a condition wait, not a sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"demo exited with {proc.returncode}:\n{log.read_text()}")
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


def _cli(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "shelfcam", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _log_in(port: int, password: str) -> int:
    """Log in through the form as a browser does; the status of an API read with the session."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        client.get("/login").raise_for_status()
        csrf = client.cookies.get("shelfcam_login_csrf")
        answer = client.post(
            "/login",
            data={"username": "demo", "password": password, "csrf_token": csrf or "", "next": "/"},
        )
        assert answer.status_code == 303, answer.text
        return client.get("/api/v1/devices/demo-pantry").status_code


def _stop(proc: subprocess.Popen[bytes], pgdata: Path, log: Path) -> None:
    running = postgres_processes(pgdata)
    assert running, "the embedded postmaster should be running"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert gone(running) == [], log.read_text()


def test_demo_fills_the_log_and_runs_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = shelfcam_env(data_dir, port)
    first_log = tmp_path / "first.log"
    started = time.monotonic()
    proc = start(["demo"], env, first_log)
    try:
        match = _wait_for(
            "the login", lambda: PASSWORD_LINE.search(first_log.read_text()), proc, first_log, 120
        )
        password = match.group(1)
        wait_healthy(port, proc, first_log)
        stock = _wait_for(
            "a stock_changed event",
            lambda: _cli(env, "events", "--type", "stock_changed", "--json"),
            proc,
            first_log,
            FIRST_EVENT_LIMIT_S,
        )
        print(f"first stock_changed after {time.monotonic() - started:.1f} s")
        assert stock[0]["device_id"] in {"demo-pantry", "demo-fridge"}
        assert _log_in(port, password) == 200
        _stop(proc, data_dir / "postgres", first_log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert password not in "".join(
        line for line in first_log.read_text().splitlines(keepends=True) if "level=" in line
    ), "the password must not reach a log line"
    first_events = _cli(env, "events", "--json")
    assert "scene_shifted" not in {e["event_type"] for e in first_events}

    second_log = tmp_path / "second.log"
    proc = start(["demo"], env, second_log)
    try:
        wait_healthy(port, proc, second_log)
        assert "password unchanged" in second_log.read_text()
        assert PASSWORD_LINE.search(second_log.read_text()) is None
        assert _log_in(port, password) == 200
        # The rotated tokens work: the cameras' frames make new events.
        newer = _wait_for(
            "a stock_changed event of the second run",
            lambda: (
                len(_cli(env, "events", "--type", "stock_changed", "--json"))
                > sum(e["event_type"] == "stock_changed" for e in first_events)
            ),
            proc,
            second_log,
            FIRST_EVENT_LIMIT_S,
        )
        assert newer
        names = [d["device_id"] for d in _cli(env, "device", "list", "--json")]
        assert sorted(names) == ["demo-fridge", "demo-pantry"]
        _stop(proc, data_dir / "postgres", second_log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # Going back to where it began, the second run sees no camera knocked aside.
    assert "scene_shifted" not in {e["event_type"] for e in _cli(env, "events", "--json")}

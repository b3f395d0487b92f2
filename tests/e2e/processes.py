"""Helpers to run ``shelfcam`` as a real process and watch what it leaves behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shelfcam_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFCAM_")}
    env.update(SHELFCAM_DATA_DIR=str(data_dir), SHELFCAM_PORT=str(port), **extra)
    return env


def start(
    args: list[str], env: dict[str, str], log: Path, *, via_uv: bool = False
) -> subprocess.Popen[bytes]:
    """Start shelfcam in a new session (its own process group, like a terminal job)."""
    if via_uv:
        command = ["uv", "run", "--project", str(REPO_ROOT), "--offline", "shelfcam", *args]
    else:
        command = [sys.executable, "-m", "shelfcam", *args]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    """Poll /healthz until it answers 200; fail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"shelfcam exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling interval of a condition wait, not a synchronisation guess
    raise AssertionError(f"shelfcam did not become healthy:\n{log.read_text()}")


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """The postmaster of ``pgdata`` and its children, if it is running."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return []
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        master = psutil.Process(pid)
        return [master, *master.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes of ``processes`` still alive."""
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

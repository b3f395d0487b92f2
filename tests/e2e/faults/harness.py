"""The fault suite's rig: shelfcam as real processes, cameras as threads uploading over
real HTTP as firmware does (the same seq again after any failure), and the checks every
fault ends with: each acknowledged frame analyzed exactly once, nothing left queued, no
process left behind."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import psycopg

from shelfcam.db import embedded
from tests.e2e.processes import free_port, postgres_processes, shelfcam_env, start
from tests.jpegs import jpeg

MACHINE_DB_ENV = "SHELFCAM_TEST_DATABASE_URL"
RECOVERY_S = 30.0
"""How long service may take to come back after a fault that needs nothing but time."""
STALLED_RECOVERY_S = 150.0
"""After a worker died outright its jobs wait for the stalled-job retry: its heartbeat
must be 30 s old, and the retry runs every minute."""
FRAMES = [jpeg(width=320, height=240, seed=seed) for seed in range(6)]


def wait_for(
    what: str,
    condition: object,
    timeout: float,
    log: Path | None = None,
    diagnose: Callable[[], str] | None = None,
) -> None:
    """Poll ``condition()`` until true; fail after ``timeout`` seconds saying ``what``,
    with ``diagnose()`` (the state that was waited on) and the tail of ``log``."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            state = diagnose() if diagnose is not None else ""
            tail = log.read_text()[-6000:] if log is not None and log.exists() else ""
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{state}\n{tail}")
        time.sleep(0.1)  # polling interval of a condition with a deadline


@dataclass
class Shelfcam:
    """shelfcam processes on one data dir and one port (`serve`, or `api` + workers)."""

    data_dir: Path
    logs: Path
    database_url: str | None = None
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        extra = {
            "SHELFCAM_RATE_LIMIT_BURST": "100000",
            "SHELFCAM_MIN_FREE_DISK_MB": "0",
            "SHELFCAM_DISK_GUARD_FREE_MB": "0",
            "SHELFCAM_LOG_LEVEL": "INFO",
        }
        if self.database_url:
            extra["SHELFCAM_DATABASE_URL"] = self.database_url
        return shelfcam_env(self.data_dir, self.port, **extra)

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def start(self, name: str, command: str) -> subprocess.Popen[bytes]:
        proc = start([command], self.env(), self.log(name))
        self.procs[name] = proc
        return proc

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, name: str, timeout: float = 90) -> None:
        proc = self.procs[name]

        def up() -> bool:
            assert proc.poll() is None, f"{name} exited:\n{self.log(name).read_text()[-6000:]}"
            return self.healthy()

        wait_for(f"{name} healthy", up, timeout, self.log(name))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run a `shelfcam` command beside the processes (it reuses their database)."""
        done = subprocess.run(
            [sys.executable, "-m", "shelfcam", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    def db_url(self) -> str:
        return self.database_url or self.cli("db", "url").strip()

    def add_camera(self, name: str) -> str:
        return str(json.loads(self.cli("device", "add", name, "--json"))["token"])

    def kill(self, name: str) -> None:
        """kill -9 of one process (not its group: nothing of it gets a say)."""
        proc = self.procs[name]
        proc.kill()
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        """SIGTERM to every process, as systemd stops them; all must end on their own."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise AssertionError(f"{name} did not stop on SIGTERM") from None

    def assert_no_orphans(self) -> None:
        """Nothing of this install runs any more: no postmaster, no watchdog, no child."""
        pgdata = self.data_dir.resolve() / "postgres"
        wait_for("the embedded PostgreSQL to stop", lambda: not postgres_processes(pgdata), 60)

        def leftovers() -> list[str]:
            found = [name for name, proc in self.procs.items() if proc.poll() is None]
            for proc in psutil.process_iter(["cmdline"]):
                cmdline = " ".join(proc.info["cmdline"] or [])
                if str(self.data_dir.resolve()) in cmdline:  # postgres -D, the watchdog
                    found.append(cmdline)
            return found

        wait_for("no process of this install left", lambda: not leftovers(), 30)


@contextlib.contextmanager
def machine_database() -> Iterator[str | None]:
    """A fresh database on the machine's PostgreSQL (SHELFCAM_TEST_DATABASE_URL), dropped
    afterwards; None when none is configured. The server itself is never stopped."""
    server = os.environ.get(MACHINE_DB_ENV)
    if not server:
        yield None
        return
    name = f"shelfcam_fault_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_backends(db_url: str) -> int:
    """What PostgreSQL does to every session after one backend crashed, for this
    database's sessions only."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def stop_embedded(data_dir: Path) -> tuple[Path, list[str]]:
    """Stop the embedded server behind its owner's back (as a crash or an operator
    would); return what starting it again the same way needs."""
    pgdata = data_dir.resolve() / "postgres"
    running = embedded._server(pgdata, owner=False)
    options = ["-o", '-h ""', "-o", f"-k {running.socket_dir}"]
    options += ["-o", "-c unix_socket_permissions=0700"]
    embedded._pg("pg_ctl", pgdata, ["-w", "-m", "fast", "stop"], timeout=60)
    return pgdata, options


def start_embedded(pgdata: Path, options: list[str]) -> None:
    embedded._pg("pg_ctl", pgdata, ["-w", *options, "-l", str(pgdata / "log"), "start"], timeout=60)


@dataclass
class Camera:
    """A camera thread: frames in sequence, each retried (same seq) until acknowledged."""

    name: str
    token: str
    base: str
    acknowledged: list[int] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    """Failed attempts by kind (a status, or a transport error): each was retried."""
    wrong: list[str] = field(default_factory=list)
    """Answers no fault may give (a 500, a 401, ...): the test fails on any."""
    stop: threading.Event = field(default_factory=threading.Event)
    interval_s: float = 0.1

    def run(self) -> None:
        seq = 0
        with httpx.Client(base_url=self.base, timeout=15) as client:
            while not self.stop.is_set():
                if self._send(client, seq):
                    self.acknowledged.append(seq)
                    seq += 1
                    self.stop.wait(self.interval_s)

    def _send(self, client: httpx.Client, seq: int) -> bool:
        while True:
            try:
                answer = client.post(
                    "/api/v1/ingest/frame",
                    content=FRAMES[seq % len(FRAMES)],
                    params={"seq": seq, "boot": "fault"},
                    headers={"Authorization": f"Bearer {self.token}", "Content-Type": "image/jpeg"},
                )
                if answer.status_code in (200, 201):
                    return True
                kind = str(answer.status_code)
                if answer.status_code not in (429, 503):
                    self.wrong.append(f"seq {seq}: {answer.status_code} {answer.text[:200]}")
                wait = min(float(answer.headers.get("retry-after", "1")), 0.5)
            except httpx.TransportError as err:
                kind, wait = type(err).__name__, 0.2
            self.failures[kind] = self.failures.get(kind, 0) + 1
            if self.stop.is_set():
                return False  # the test is over; this frame was never acknowledged
            time.sleep(wait)  # the camera's backoff (shortened: Retry-After up to 0.5 s)


@contextlib.contextmanager
def cameras(shelfcam: Shelfcam, names: list[str], tokens: dict[str, str]) -> Iterator[list[Camera]]:
    running = [Camera(name, tokens[name], shelfcam.base) for name in names]
    threads = [threading.Thread(target=c.run, name=f"camera-{c.name}") for c in running]
    for thread in threads:
        thread.start()
    try:
        yield running
    finally:
        for camera in running:
            camera.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    for camera in running:
        assert camera.wrong == [], (camera.name, camera.wrong[:5])


def wait_acknowledged(cams: list[Camera], frames: int, timeout: float = RECOVERY_S) -> None:
    """Until every camera has had ``frames`` more frames acknowledged than now."""
    targets = [len(c.acknowledged) + frames for c in cams]
    wait_for(
        f"{frames} more frames acknowledged per camera",
        lambda: all(len(c.acknowledged) >= t for c, t in zip(cams, targets, strict=True)),
        timeout,
    )


def queue_state(db_url: str, limit: int = 20) -> str:
    """What is still waiting, for a failure message: the captures still queued, the
    analysis jobs (status, attempts, worker, when runnable) and the workers' heartbeats."""
    lines: list[str] = []
    with psycopg.connect(db_url) as conn:
        queued = conn.execute(
            "SELECT device_id, device_seq, capture_id,"
            " round(extract(epoch FROM now() - received_at)::numeric, 1) AS age_s"
            " FROM captures WHERE analysis_status = 'queued'"
            " ORDER BY received_at LIMIT %s",
            (limit,),
        ).fetchall()
        lines.append(f"captures still queued (first {limit}):")
        lines += [f"  {d} seq={q} capture={c} received {a} s ago" for d, q, c, a in queued]
        jobs = conn.execute(
            "SELECT j.id, j.status, j.attempts, j.lock, j.worker_id,"
            " coalesce(round(extract(epoch FROM j.scheduled_at - now())::numeric, 1)"
            "   || ' s', 'now'),"
            " j.args->>'capture_id'"
            " FROM procrastinate_jobs j WHERE j.queue_name = 'analysis'"
            " ORDER BY j.id LIMIT %s",
            (limit,),
        ).fetchall()
        lines.append(f"analysis jobs left (first {limit}):")
        lines += [
            f"  job {i} {st} attempts={at} lock={lk} worker={w} runnable in {due} capture={cap}"
            for i, st, at, lk, w, due, cap in jobs
        ]
        workers = conn.execute(
            "SELECT id, round(extract(epoch FROM now() - last_heartbeat)::numeric, 1)"
            " FROM procrastinate_workers ORDER BY id"
        ).fetchall()
        lines.append("workers: " + ", ".join(f"{i} (heartbeat {a} s ago)" for i, a in workers))
    return "\n".join(lines)


def assert_each_frame_analyzed_once(
    db_url: str, cams: list[Camera], timeout: float, log: Path | None = None
) -> None:
    """Every acknowledged frame has exactly one capture, analyzed; no job is left. On
    failure, says what is still waiting (:func:`queue_state`) and the tail of ``log``."""

    def pending() -> int:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM captures WHERE analysis_status = 'queued')"
                " + (SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'analysis')"
            ).fetchone()
        return int(row[0]) if row else -1

    wait_for(
        "every frame analyzed",
        lambda: pending() == 0,
        timeout,
        log,
        diagnose=lambda: queue_state(db_url),
    )
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT device_id, device_seq, analysis_status, analysis_error FROM captures"
        ).fetchall()
    found: dict[tuple[str, int], list[str]] = {}
    for device, seq, status, error in rows:
        found.setdefault((device, seq), []).append(f"{status} {error or ''}".strip())
    for camera in cams:
        assert camera.acknowledged, f"{camera.name} never got a frame in"
        for seq in camera.acknowledged:
            key = (camera.name, seq)
            assert found.get(key) == ["processed"], (key, found.get(key))
    assert all(len(statuses) == 1 for statuses in found.values())

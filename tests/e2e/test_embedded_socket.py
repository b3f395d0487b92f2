"""The embedded PostgreSQL trusts whoever reaches its socket, so only its own user (and
root) may reach it: run as root with a data dir whose path is too long for a socket in
it, another local user still cannot connect."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

import psycopg
import pytest

from shelfcam.db import embedded

CONNECT = (
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "try:\n"
    "    s.connect(sys.argv[1])\n"
    "except PermissionError:\n"
    "    sys.exit(13)\n"
)


def _nobody() -> str:
    try:
        return pwd.getpwnam("nobody").pw_name
    except KeyError:
        pytest.skip("no 'nobody' user to try the socket as")


@pytest.mark.parametrize("long_path", [False, True], ids=["in-pgdata", "long-path"])
def test_no_other_user_reaches_the_socket(tmp_path: Path, long_path: bool) -> None:
    if os.geteuid() != 0:
        pytest.skip("the exposure was as root (the server runs as another user then)")
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 to run as another user")
    base = tmp_path / ("d" * 60 if long_path else "d") / ("e" * 60 if long_path else "e")
    pgdata = base / "postgres"
    server = embedded.acquire(pgdata)
    try:
        assert (server.socket_dir != pgdata) is long_path
        info = server.socket_dir.stat()
        assert stat.S_IMODE(info.st_mode) & 0o077 == 0, oct(info.st_mode)
        socket_path = server.socket_dir / f".s.PGSQL.{server.port}"
        assert stat.S_IMODE(socket_path.stat().st_mode) & 0o077 == 0
        as_nobody = subprocess.run(
            [python, "-c", CONNECT, str(socket_path)],
            user=_nobody(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert as_nobody.returncode == 13, as_nobody.stderr
        with psycopg.connect(server.url()) as conn:  # shelfcam (root) still can
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        embedded.release(server)
    if long_path:
        assert not server.socket_dir.exists()

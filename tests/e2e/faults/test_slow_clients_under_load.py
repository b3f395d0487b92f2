"""A slow-client attack while cameras upload: one address opens far more connections than
it may and sends its headers a line at a time. The attacker gets 503s beyond its share
and 408s when its time is up; the cameras, on another address, never notice."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.faults.harness import (
    RECOVERY_S,
    Shelfcam,
    assert_each_frame_analyzed_once,
    cameras,
    wait_acknowledged,
)

pytestmark = pytest.mark.faults

ATTACKER = "127.0.0.2"  # any 127.x address is this machine's loopback
CONNECTIONS = 150


def slow_client_attack(port: int, outcomes: Counter[str], done: threading.Event) -> None:
    """Open CONNECTIONS connections from ATTACKER, drip a header line into each every half
    second, and note how each ends (the first bytes the server sends, or 'closed')."""
    held: list[socket.socket] = []
    for _ in range(CONNECTIONS):
        sock = socket.socket()
        sock.bind((ATTACKER, 0))
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        sock.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        held.append(sock)
    deadline = time.monotonic() + 60
    while held and time.monotonic() < deadline:
        for sock in list(held):
            try:
                data: bytes | None = sock.recv(4096)
            except BlockingIOError:
                data = None
            except ConnectionResetError:
                data = b""
            if data is None:
                with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
                    sock.send(b"X-Slow: a\r\n")
                continue
            outcomes[data[:12].decode(errors="replace") or "closed"] += 1
            sock.close()
            held.remove(sock)
        time.sleep(0.5)  # the attacker's pace
    outcomes["still_open"] += len(held)
    for sock in held:
        sock.close()
    done.set()


def test_a_slow_client_attack_does_not_lock_cameras_out(tmp_path: Path) -> None:
    shelfcam = Shelfcam(tmp_path / "data", tmp_path)
    try:
        shelfcam.start("serve", "serve")
        shelfcam.wait_healthy("serve")
        tokens = {name: shelfcam.add_camera(name) for name in ("cam1", "cam2")}
        db_url = shelfcam.db_url()
        outcomes: Counter[str] = Counter()
        done = threading.Event()
        with cameras(shelfcam, ["cam1", "cam2"], tokens) as cams:
            wait_acknowledged(cams, 4)
            attack = threading.Thread(
                target=slow_client_attack, args=(shelfcam.port, outcomes, done)
            )
            attack.start()
            while not done.is_set():
                wait_acknowledged(cams, 4)  # frames keep going in during the attack
            attack.join()
        assert outcomes["still_open"] == 0, outcomes
        assert outcomes["HTTP/1.1 503"] >= CONNECTIONS - 64, outcomes  # over its share
        assert outcomes["HTTP/1.1 408"] >= 1, outcomes  # its share, cut off in time
        for camera in cams:
            assert "503" not in camera.failures, camera.failures
        assert_each_frame_analyzed_once(db_url, cams, RECOVERY_S, shelfcam.log("serve"))
    finally:
        shelfcam.stop_all()
    shelfcam.assert_no_orphans()

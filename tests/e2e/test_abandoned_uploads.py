"""A camera that drops its connection mid-upload (flaky Wi-Fi, all day long): nothing is
stored, the abandoned upload is counted in /metrics, and the log gets one INFO line,
not an ERROR with tracebacks."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.apps import count, files_under, new_device
from tests.e2e.live_server import live_server
from tests.jpegs import jpeg

ABANDONED = re.compile(
    r'^shelfcam_ingest_errors_total\{code="client_disconnected",device="cam1"\} (\d+)',
    re.MULTILINE,
)


def _abandon_upload(base: str, token: str, frame: bytes) -> None:
    """Headers and half the body, then the connection closes."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (
            "POST /api/v1/ingest/frame?seq=1 HTTP/1.1\r\n"
            f"Host: {parts.hostname}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n"
        )
        sock.sendall(head.encode() + frame[: len(frame) // 2])


def _abandoned(base: str) -> int:
    found = ABANDONED.search(httpx.get(f"{base}/metrics").text)
    return int(found.group(1)) if found else 0


def test_an_abandoned_upload_is_counted_and_logged_once(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = asyncio.run(new_device(db_url, "cam1"))
    frame = jpeg(seed=3)
    with live_server(db_url, tmp_path / "data") as base:
        # The token is checked (and cached) before the body is read: a first good frame.
        ok = httpx.post(
            f"{base}/api/v1/ingest/frame?seq=0",
            content=frame,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
        )
        assert ok.status_code == 201
        _abandon_upload(base, token, frame)
        deadline = time.monotonic() + 30
        while _abandoned(base) < 1:
            assert time.monotonic() < deadline, "the abandoned upload was never counted"
            time.sleep(0.05)  # polling /metrics until the server has seen the disconnect
    assert count(db_url, "SELECT count(*) FROM captures") == 1
    assert len(files_under(tmp_path / "data" / "staging")) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert not any(r.exc_info for r in caplog.records)
    lines = [r.getMessage() for r in caplog.records if "client_disconnected" in r.getMessage()]
    assert lines == ["action=frame_abandoned device=cam1 reason=client_disconnected"]

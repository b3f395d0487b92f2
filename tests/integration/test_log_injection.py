"""What a client sends on the login form and in X-Forwarded-For reaches the log as one
quoted field of one line, never as a line or a field of its own."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from shelfcam import logs
from tests.e2e.live_server import live_server
from tests.unit.test_logs import fields

FORGED = "admin x=1\n2026-12-07T00:00:00.000Z level=ERROR logger=shelfcam action=forged"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    text = "\n".join(logs.formatter().format(r) for r in caplog.records)
    return [line for line in text.splitlines() if "action=login_failed" in line]


def _post_login(base: str, forwarded_for: str) -> httpx.Response:
    with httpx.Client(base_url=base) as client:
        form = client.get("/login")
        match = _CSRF.search(form.text)
        assert match
        return client.post(
            "/login",
            data={"username": FORGED, "password": "wrong", "csrf_token": match.group(1)},
            headers={"X-Forwarded-For": forwarded_for},
        )


@pytest.mark.parametrize("trusted", [None, "127.0.0.1"])
def test_login_fields_cannot_forge_log_lines(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, trusted: str | None
) -> None:
    caplog.set_level(logging.INFO)
    with live_server(db_url, tmp_path, trusted_proxies=trusted) as base:
        # A header cannot hold a line break; spaces and '=' it can.
        response = _post_login(base, "198.51.100.9 action=forged addr=10.0.0.1")
    assert response.status_code == 401
    lines = _login_lines(caplog)
    assert len(lines) == 1, lines
    found = fields(lines[0])
    assert found["user"] == FORGED.strip().lower()
    # Untrusted, the header is ignored; trusted, its value is no address: never raw.
    assert found["addr"] == ("127.0.0.1" if trusted is None else "unknown")
    assert "forged" not in found.get("action", "") and found["action"] == "login_failed"

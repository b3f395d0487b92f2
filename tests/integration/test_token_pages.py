"""The admin tokens page: tokens listed without their values, one created and shown once,
one revoked; every change needs the session's CSRF token."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from tests.webapp import create_token, create_user, csrf_of, login, running_app

pytestmark = pytest.mark.anyio

_SHOWN = re.compile(r'<code class="token" id="admin-token">([^<]+)</code>')


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_create_list_and_revoke_tokens_in_the_ui(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        old = await create_token(db_url, "backup")
        assert (await login(web.client)).status_code == 303
        page = await web.client.get("/tokens")
        assert page.status_code == 200
        assert "backup" in page.text and old not in page.text
        refused = await web.client.post("/tokens", data={"name": "ha", "expires_in": "30d"})
        assert refused.status_code == 403
        made = await web.client.post(
            "/tokens", data={"name": "ha", "expires_in": "30d", "csrf_token": csrf_of(page.text)}
        )
        assert made.status_code == 200, made.text
        found = _SHOWN.search(made.text)
        assert found, made.text
        token = found.group(1)
        auth = {"Authorization": f"Bearer {token}"}
        assert (await web.client.get("/api/v1/events", headers=auth)).status_code == 200
        listing = await web.client.get("/tokens")
        assert "ha" in listing.text and token not in listing.text
        taken = await web.client.post(
            "/tokens", data={"name": "ha", "csrf_token": csrf_of(listing.text)}
        )
        assert taken.status_code == 409
        assert "already named" in taken.text
        gone = await web.client.post(
            "/tokens/revoke", data={"name": "ha", "csrf_token": csrf_of(listing.text)}
        )
        assert gone.status_code == 303
        assert (await web.client.get(gone.headers["location"])).status_code == 200
        assert (await web.client.get("/api/v1/events", headers=auth)).status_code == 401
        old_auth = {"Authorization": f"Bearer {old}"}
        assert (await web.client.get("/api/v1/events", headers=old_auth)).status_code == 200
    with psycopg.connect(db_url) as conn:
        rows: dict[object, object] = dict(
            conn.execute("SELECT name, revoked FROM admin_tokens").fetchall()
        )
    assert rows == {"backup": False, "ha": True}


async def test_the_tokens_page_needs_a_login(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        page = await web.client.get("/tokens")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/tokens"

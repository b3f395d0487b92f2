"""The devices page through the app: status, add (token once), rotate, revoke, mark empty,
privacy; and that ingest follows a rotation or revocation at once."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from shelfcam.devices import hash_token
from shelfcam.engine.config import Thresholds
from shelfcam.frames import layout
from tests.devices_seed import add_capture, add_scored_frames
from tests.jpegs import jpeg
from tests.webapp import WebApp, create_user, csrf_of, login, running_app

pytestmark = pytest.mark.anyio

_TOKEN = re.compile(r'<code class="token" id="device-token">(shc_[A-Za-z0-9_-]+)</code>')


async def _logged_in(web: WebApp) -> str:
    await create_user(web.db_url)
    assert (await login(web.client)).status_code == 303
    return csrf_of((await web.client.get("/devices")).text)


def _token_of(page: str) -> str:
    match = _TOKEN.search(page)
    assert match, "no token on the page"
    return match.group(1)


async def _upload(web: WebApp, token: str, seq: int) -> int:
    response = await web.client.post(
        "/api/v1/ingest/frame",
        content=jpeg(seed=seq),
        params={"seq": str(seq)},
        headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
    )
    return response.status_code


async def test_add_a_device_shows_its_token_once(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf = await _logged_in(web)
        empty = await web.client.get("/devices")
        assert "No cameras yet" in empty.text
        added = await web.client.post("/devices", data={"csrf_token": csrf, "name": "pantry"})
        assert added.status_code == 200
        token = _token_of(added.text)
        assert "shown only this once" in added.text
        assert "http://testserver/api/v1/ingest/frame" in added.text
        assert added.headers["cache-control"] == "no-store"
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT token_hash FROM devices").fetchone()
        assert row is not None and bytes(row[0]) == hash_token(token)
        page = await web.client.get("/devices")
        assert 'id="device-pantry"' in page.text
        assert token not in page.text
        assert "never seen" in page.text
        # The token works for ingest.
        assert await _upload(web, token, 1) == 201
        # Same name again, or a bad name: the form says why, nothing is added.
        again = await web.client.post("/devices", data={"csrf_token": csrf, "name": "pantry"})
        assert again.status_code == 409
        assert "already exists" in again.text
        bad = await web.client.post("/devices", data={"csrf_token": csrf, "name": "Bad Name"})
        assert bad.status_code == 400
        assert "not valid" in bad.text
        assert 'value="Bad Name"' in bad.text


async def test_status_shows_traffic_queue_errors_and_health(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf = await _logged_in(web)
        await web.client.post("/devices", data={"csrf_token": csrf, "name": "fridge"})
        now = datetime.now(UTC)
        with psycopg.connect(db_url, autocommit=True) as conn:
            add_scored_frames(conn, "fridge", now, 100)  # 100 frames in the last 100 s
            for i in range(3):
                add_capture(conn, "fridge", now - timedelta(seconds=i), status="queued")
            add_capture(
                conn,
                "fridge",
                now - timedelta(minutes=30),
                status="failed",
                error="staging frame missing",
            )
            add_capture(conn, "fridge", now - timedelta(days=3), status="failed", error="ancient")
            conn.execute("UPDATE devices SET last_seen_at = %s", (now,))
        page = (await web.client.get("/devices")).text
        card = page[page.index('id="device-fridge"') :]
        assert "online" in card
        assert "20.6 per minute" in card  # 103 frames in 5 minutes
        assert "3 waiting" in card
        assert "staging frame missing" in card
        assert "ancient" not in card
        assert "Wi-Fi -62 dBm (fair)" in card
        assert "free heap 79 KiB" in card
        assert "firmware 1.4" in card

        token_api = await web.client.get("/api/v1/devices/fridge")
        assert token_api.status_code == 200
        body = token_api.json()
        assert body["status"]["state"] == "online"
        assert body["status"]["queue_depth"] == 3
        assert body["status"]["frames_per_minute"] == 20.6
        assert body["status"]["last_error"] == "staging frame missing"
        assert body["status"]["health"]["heap_bytes"] == 81000
        assert body["effective_thresholds"]["inventory_change_threshold"] == (
            Thresholds().inventory_change_threshold
        )
        assert "token" not in body and "token_hash" not in body
        assert (await web.client.get("/api/v1/devices/ghost")).status_code == 404


async def test_rotate_and_revoke_take_effect_at_once(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf = await _logged_in(web)
        added = await web.client.post("/devices", data={"csrf_token": csrf, "name": "pantry"})
        old = _token_of(added.text)
        assert await _upload(web, old, 1) == 201  # cached by ingest now
        confirm = await web.client.get("/devices/pantry/rotate")
        assert confirm.status_code == 200
        assert "Rotate the token of pantry?" in confirm.text
        rotated = await web.client.post("/devices/pantry/rotate", data={"csrf_token": csrf})
        assert rotated.status_code == 200
        new = _token_of(rotated.text)
        assert new != old
        assert "The old token no longer works" in rotated.text
        assert await _upload(web, old, 2) == 401
        assert await _upload(web, new, 3) == 201

        confirm = await web.client.get("/devices/pantry/revoke")
        assert "Revoke pantry?" in confirm.text
        revoked = await web.client.post("/devices/pantry/revoke", data={"csrf_token": csrf})
        assert revoked.status_code == 303
        assert revoked.headers["location"] == "/devices?done=revoked&device=pantry"
        page = await web.client.get(revoked.headers["location"])
        assert "pantry: The device&#39;s token is revoked" in page.text
        assert 'class="status status-revoked"' in page.text
        assert await _upload(web, new, 4) == 401
        # Rotating enables it again, with another token.
        again = _token_of(
            (await web.client.post("/devices/pantry/rotate", data={"csrf_token": csrf})).text
        )
        assert await _upload(web, again, 5) == 201
        assert (await web.client.get("/devices/ghost/rotate")).status_code == 404


async def test_mark_empty_and_privacy(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf = await _logged_in(web)
        await web.client.post("/devices", data={"csrf_token": csrf, "name": "pantry"})
        # No stable frame yet: a clear message, nothing changes.
        refused = await web.client.post("/devices/pantry/mark-empty", data={"csrf_token": csrf})
        assert refused.status_code == 404
        assert "has no stable frame yet" in refused.text
        # With a baseline frame on disk, the reference is taken.
        capture = uuid.uuid4()
        uri = web.store.put(
            layout.staging_uri("pantry", datetime.now(UTC).date(), capture), jpeg(), durable=False
        )
        with psycopg.connect(db_url, autocommit=True) as conn:
            add_capture(
                conn,
                "pantry",
                datetime.now(UTC),
                storage_class="staging",
                storage_uri=uri,
                capture_id=capture,
            )
            conn.execute(
                "UPDATE device_state SET state = jsonb_build_object("
                "'baseline', jsonb_build_object('capture_id', %s::text))",
                (str(capture),),
            )
        done = await web.client.post("/devices/pantry/mark-empty", data={"csrf_token": csrf})
        assert done.status_code == 303
        page = (await web.client.get(done.headers["location"])).text
        assert "empty-shelf reference" in page
        assert "marked just now" in page

        on = await web.client.post(
            "/devices/pantry/privacy", data={"csrf_token": csrf, "privacy_blur": "on"}
        )
        assert on.status_code == 303
        with psycopg.connect(db_url) as conn:
            rows = conn.execute(
                "SELECT roi_version, privacy_blur FROM device_configs ORDER BY roi_version"
            ).fetchall()
        assert rows == [(1, False), (2, True)]
        page = (await web.client.get("/devices")).text
        assert "Stop blurring" in page
        await web.client.post(
            "/devices/pantry/privacy", data={"csrf_token": csrf, "privacy_blur": "off"}
        )
        assert "Blur outside the shelf" in (await web.client.get("/devices")).text


@pytest.mark.parametrize(
    "path", ["/devices", "/devices/pantry/roi", "/devices/pantry/tuning", "/charts"]
)
async def test_new_pages_want_a_login(db_url: str, tmp_path: Path, path: str) -> None:
    async with running_app(db_url, tmp_path) as web:
        page = await web.client.get(path)
        assert page.status_code == 303
        assert page.headers["location"] == f"/login?next={path}"
        changed = await web.client.post(path, data={"name": "x"})
        assert changed.status_code in (303, 405)

"""The ROI editor through the app: its picture, saving a new roi_version, snapshots."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.devices_seed import add_snapshot
from tests.events_seed import seed_event
from tests.jpegs import jpeg
from tests.webapp import WebApp, create_user, csrf_of, login, running_app

pytestmark = pytest.mark.anyio

POLY = "0.1,0.2 0.9,0.2 0.9,0.85 0.1,0.85"


async def _setup(web: WebApp) -> tuple[str, str]:
    """Log in and add the camera ``pantry``; return the CSRF token and the device token."""
    await create_user(web.db_url)
    assert (await login(web.client)).status_code == 303
    csrf = csrf_of((await web.client.get("/devices")).text)
    added = await web.client.post("/devices", data={"csrf_token": csrf, "name": "pantry"})
    token = re.search(r'id="device-token">([^<]+)<', added.text)
    assert token
    return csrf, token.group(1)


def _versions(db_url: str) -> list[tuple[int, object, object]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT roi_version, interaction_roi, inventory_roi FROM device_configs"
            " ORDER BY roi_version"
        ).fetchall()


async def test_editor_shows_the_rois_and_saving_makes_a_new_version(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf, _token = await _setup(web)
        page = await web.client.get("/devices/pantry/roi")
        assert page.status_code == 200
        assert "roi_version 1" in page.text
        assert "no picture yet" in page.text
        assert '<script src="/static/roi-editor.js" defer></script>' in page.text
        assert 'points="0,0 1,0 1,1 0,1"' in page.text
        assert "<script>" not in page.text  # no inline script (CSP)
        assert (await web.client.get("/static/roi-editor.js")).status_code == 200
        saved = await web.client.post(
            "/devices/pantry/roi",
            data={
                "csrf_token": csrf,
                "interaction_roi": "0,0 1,0 1,0.5 0,0.5",
                "inventory_roi": POLY,
            },
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/devices/pantry/roi?saved=2"
        versions = _versions(db_url)
        assert [v[0] for v in versions] == [1, 2]
        assert versions[1][2] == [[0.1, 0.2], [0.9, 0.2], [0.9, 0.85], [0.1, 0.85]]
        after = (await web.client.get(saved.headers["location"])).text
        assert "now uses roi_version 2" in after
        assert f'points="{POLY}"' in after
        assert "Save as roi_version 3" in after


@pytest.mark.parametrize(
    ("inventory", "message"),
    [
        ("0,0 1,1", "needs at least 3 points"),
        ("0,0 1,1 1,0 0,0.5", "crosses itself"),
        ("0,0 2,0 1,1", "outside 0..1"),
        ("zero", "not an x,y pair"),
    ],
)
async def test_a_bad_polygon_is_refused_with_the_reason(
    db_url: str, tmp_path: Path, inventory: str, message: str
) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf, _token = await _setup(web)
        refused = await web.client.post(
            "/devices/pantry/roi",
            data={"csrf_token": csrf, "interaction_roi": POLY, "inventory_roi": inventory},
        )
        assert refused.status_code == 400
        assert message in refused.text
        assert inventory in refused.text  # the user's text is kept
        assert [v[0] for v in _versions(db_url)] == [1]


async def test_event_frame_is_the_picture_until_a_snapshot_arrives(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf, token = await _setup(web)
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(conn, web.store, device_id="pantry", started_at=datetime.now(UTC))
        page = (await web.client.get("/devices/pantry/roi")).text
        assert f'src="/images/{event_id}/post"' in page
        assert "The latest event frame" in page

        asked = await web.client.post("/devices/pantry/snapshot", data={"csrf_token": csrf})
        assert asked.status_code == 303
        assert asked.headers["location"] == "/devices/pantry/roi?waiting=1"
        waiting = (await web.client.get(asked.headers["location"])).text
        poll = re.search(r'hx-get="(/devices/pantry/snapshot/status\?after=[^"]+)"', waiting)
        assert poll
        poll_url = poll.group(1).replace("&amp;", "&")
        still = await web.client.get(poll_url, headers={"HX-Request": "true"})
        assert still.status_code == 200
        assert "HX-Redirect" not in still.headers
        assert 'id="snapshot-wait"' in still.text and "<html" not in still.text

        # The camera's next frame is told to send the snapshot; the one after is kept.
        for seq, expected in (("1", True), ("2", False)):
            sent = await web.client.post(
                "/api/v1/ingest/frame",
                content=jpeg(seed=5),
                params={"seq": seq},
                headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
            )
            assert sent.json()["snapshot_requested"] is expected
        done = await web.client.get(poll_url, headers={"HX-Request": "true"})
        assert done.headers["HX-Redirect"] == "/devices/pantry/roi"
        page = (await web.client.get("/devices/pantry/roi")).text
        snap = re.search(r'src="/snapshots/([0-9a-f-]+)"', page)
        assert snap, "the snapshot is the picture now"
        image = await web.client.get(f"/snapshots/{snap.group(1)}")
        assert image.status_code == 200
        assert image.content == jpeg(seed=5)
        assert f'name="snapshot_id" value="{snap.group(1)}"' in page

        # Saving over it deletes the snapshot (file and row class).
        saved = await web.client.post(
            "/devices/pantry/roi",
            data={
                "csrf_token": csrf,
                "interaction_roi": POLY,
                "inventory_roi": POLY,
                "snapshot_id": snap.group(1),
            },
        )
        assert saved.headers["location"] == "/devices/pantry/roi?saved=2&deleted=1"
        assert list((tmp_path / "debug").rglob("*.jpg")) == []
        assert (await web.client.get(f"/snapshots/{snap.group(1)}")).status_code == 410
        after = (await web.client.get(saved.headers["location"])).text
        assert "snapshot it was drawn on was deleted" in after
        assert f'src="/images/{event_id}/post"' in after


async def test_newest_snapshot_wins_and_a_missing_file_is_skipped(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _setup(web)
        now = datetime.now(UTC)
        with psycopg.connect(db_url, autocommit=True) as conn:
            older = add_snapshot(conn, web.store, "pantry", now - timedelta(minutes=5))
            newer = add_snapshot(conn, web.store, "pantry", now - timedelta(minutes=1))
        page = (await web.client.get("/devices/pantry/roi")).text
        assert f'src="/snapshots/{newer}"' in page
        for path in (tmp_path / "debug").rglob(f"{newer}.jpg"):
            path.unlink()
        page = (await web.client.get("/devices/pantry/roi")).text
        assert f'src="/snapshots/{older}"' in page
        assert (await web.client.get("/devices/ghost/roi")).status_code == 404
        web.client.cookies.clear()
        assert (await web.client.get(f"/snapshots/{older}")).status_code == 401

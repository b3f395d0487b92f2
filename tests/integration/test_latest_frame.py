"""GET /api/v1/devices/{id}/latest.jpg: the newest frame ingest took, to an admin only,
blurred outside the inventory ROI when the camera's blur is on; 404 with a reason when
there is none. And the pull URL through the devices page and `shelfcam device`."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
import simplejpeg

from shelfcam.analysis.eventframes import privacy_copy
from shelfcam.cli import main
from shelfcam.db.connect import connection
from shelfcam.devices import add_device, set_config
from shelfcam.vision import polygons
from tests.jpegs import jpeg
from tests.webapp import create_token, create_user, csrf_of, login, running_app

pytestmark = pytest.mark.anyio

ROI = polygons.parse("0.25,0.25 0.75,0.25 0.75,0.75 0.25,0.75")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_latest_jpeg_serves_the_newest_frame_to_an_admin_only(
    db_url: str, tmp_path: Path
) -> None:
    async with connection(db_url) as conn:
        device_token = (await add_device(conn, "shelf", inventory_roi=ROI)).token
        await add_device(conn, "other")
    admin = {"Authorization": f"Bearer {await create_token(db_url)}"}
    frames = [jpeg(320, 240, seed=s) for s in range(2)]
    async with running_app(db_url, tmp_path) as web:
        path = "/api/v1/devices/shelf/latest.jpg"
        none_yet = await web.client.get(path, headers=admin)
        assert none_yet.status_code == 404
        assert none_yet.json()["error"] == "no_frame_yet"
        assert "shelf" in none_yet.json()["detail"]
        unknown = await web.client.get("/api/v1/devices/nosuch/latest.jpg", headers=admin)
        assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
        for frame in frames:
            pushed = await web.client.post(
                "/api/v1/ingest/frame",
                content=frame,
                headers={"X-API-Key": device_token, "Content-Type": "image/jpeg"},
            )
            assert pushed.status_code == 201, pushed.text
        latest = await web.client.get(path, headers=admin)
        assert latest.status_code == 200
        assert latest.headers["content-type"] == "image/jpeg"
        assert latest.headers["cache-control"] == "no-store"
        assert latest.content == frames[-1]
        # no session or admin token: 401; a device token is not an admin token
        assert (await web.client.get(path)).status_code == 401
        device = {"Authorization": f"Bearer {device_token}"}
        assert (await web.client.get(path, headers=device)).status_code == 401
        assert (await web.client.get(path, headers={"X-API-Key": device_token})).status_code == 401
        # an admin token as a Basic password (Home Assistant's generic camera); not a device's
        token = admin["Authorization"].removeprefix("Bearer ")
        basic = await web.client.get(path, auth=("homeassistant", token))
        assert basic.content == frames[-1]
        wrong = await web.client.get(path, auth=("homeassistant", device_token))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == 'Basic realm="shelfcam"'
        # another camera's frame is not this one's
        other = await web.client.get("/api/v1/devices/other/latest.jpg", headers=admin)
        assert other.status_code == 404
        # a session works too (the ROI editor)
        await create_user(db_url)
        await login(web.client)
        assert (await web.client.get(path)).content == frames[-1]


async def test_latest_jpeg_is_blurred_outside_the_inventory_roi_when_blur_is_on(
    db_url: str, tmp_path: Path
) -> None:
    async with connection(db_url) as conn:
        device_token = (await add_device(conn, "shelf", inventory_roi=ROI)).token
        await set_config(conn, "shelf", privacy_blur=True)
    admin = {"Authorization": f"Bearer {await create_token(db_url)}"}
    frame = jpeg(320, 240, seed=7)
    async with running_app(db_url, tmp_path) as web:
        pushed = await web.client.post(
            "/api/v1/ingest/frame",
            content=frame,
            headers={"X-API-Key": device_token, "Content-Type": "image/jpeg"},
        )
        assert pushed.status_code == 201
        latest = await web.client.get("/api/v1/devices/shelf/latest.jpg", headers=admin)
    assert latest.status_code == 200
    assert latest.content != frame
    assert latest.content == privacy_copy(frame, ROI)
    shown = simplejpeg.decode_jpeg(latest.content, colorspace="GRAY").astype(float)
    sent = simplejpeg.decode_jpeg(frame, colorspace="GRAY").astype(float)
    inside = (slice(80, 160), slice(100, 220))
    corner = (slice(0, 50), slice(0, 70))
    assert abs(shown[inside] - sent[inside]).mean() < 6  # the shelf as sent (re-encoded)
    assert abs(shown[corner] - sent[corner]).mean() > 10  # the rest blurred


async def test_the_devices_page_sets_and_clears_a_pull_url(db_url: str, tmp_path: Path) -> None:
    await create_user(db_url)
    async with running_app(db_url, tmp_path) as web:
        await login(web.client)
        page = await web.client.get("/devices")
        added = await web.client.post(
            "/devices",
            data={
                "csrf_token": csrf_of(page.text),
                "name": "shelf",
                "pull_url": "http://admin:hunter22@cam.local/capture",
            },
        )
        assert added.status_code == 200
        page = await web.client.get("/devices")
        assert "http://***@cam.local/capture" in page.text
        assert "hunter22" not in page.text
        csrf = csrf_of(page.text)
        bad = await web.client.post(
            "/devices/shelf/pull", data={"csrf_token": csrf, "pull_url": "ftp://cam/x"}
        )
        assert bad.status_code == 400
        assert "must start with http:// or https://" in bad.text
        changed = await web.client.post(
            "/devices/shelf/pull",
            data={
                "csrf_token": csrf,
                "pull_url": "http://cam.local:81/stream",
                "pull_interval_ms": "500",
            },
        )
        assert changed.status_code == 303
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT url, interval_ms FROM device_pulls").fetchone()
        assert row == ("http://cam.local:81/stream", 500)
        no_csrf = await web.client.post("/devices/shelf/pull", data={"pull_url": ""})
        assert no_csrf.status_code == 403
        cleared = await web.client.post("/devices/shelf/pull", data={"csrf_token": csrf})
        assert cleared.status_code == 303
        assert "no longer pulled" in (await web.client.get(cleared.headers["location"])).text
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM device_pulls").fetchone() == (0,)


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("SHELFCAM_DATABASE_URL", db_url)
    monkeypatch.setenv("SHELFCAM_DATA_DIR", str(tmp_path))
    return db_url


@pytest.mark.usefixtures("cli_env")
def test_the_cli_sets_shows_and_clears_a_pull_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://admin:hunter22@192.168.1.50/capture"
    assert main(["device", "add", "shelf", "--pull-url", url, "--pull-interval-ms", "500"]) == 0
    out = capsys.readouterr().out
    assert "pulled from http://***@192.168.1.50/capture" in out
    assert "hunter22" not in out
    assert main(["device", "list"]) == 0
    out = capsys.readouterr().out
    assert "pulled=http://***@192.168.1.50/capture (waiting)" in out
    assert main(["device", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["pull"]["url"] == "http://***@192.168.1.50/capture"
    assert listed["pull"]["interval_ms"] == 500
    assert main(["device", "set", "shelf", "--pull-url", "http://192.168.1.50:81/stream"]) == 0
    assert "now pulled from http://192.168.1.50:81/stream" in capsys.readouterr().out
    assert main(["device", "set", "shelf", "--no-pull"]) == 0
    assert "no longer pulled" in capsys.readouterr().out
    assert main(["device", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pull"] is None


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["device", "add", "cam", "--pull-url", "rtsp://cam/x"], "http:// or https://"),
        (["device", "add", "cam", "--pull-interval-ms", "500"], "needs --pull-url"),
        (["device", "add", "cam", "--pull-url", "http://c/", "--pull-interval-ms", "10"], "50"),
        (["device", "set", "nosuch", "--pull-url", "http://c/"], "no device named"),
        (["device", "set", "cam0", "--pull-url", "http://c/", "--no-pull"], "not both"),
        (["device", "set", "cam0"], "nothing to change"),
    ],
)
def test_bad_pull_arguments_are_clear_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["device", "add", "cam0"]) == 0
    capsys.readouterr()
    assert main(args) == 1
    assert message in capsys.readouterr().err
    if args[1] == "add":  # nothing was created
        assert main(["device", "list"]) == 0
        assert "cam " not in capsys.readouterr().out


async def test_the_roi_editor_draws_on_the_newest_frame_without_a_snapshot(
    db_url: str, tmp_path: Path
) -> None:
    async with connection(db_url) as conn:
        device_token = (await add_device(conn, "shelf")).token
    await create_user(db_url)
    async with running_app(db_url, tmp_path) as web:
        await login(web.client)
        page = await web.client.get("/devices/shelf/roi")
        assert "no picture yet" in page.text
        pushed = await web.client.post(
            "/api/v1/ingest/frame",
            content=jpeg(320, 240, seed=3),
            headers={"X-API-Key": device_token, "Content-Type": "image/jpeg"},
        )
        assert pushed.status_code == 201
        page = await web.client.get("/devices/shelf/roi")
        assert 'src="/api/v1/devices/shelf/latest.jpg"' in page.text
        assert "newest frame" in page.text

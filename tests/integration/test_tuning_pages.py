"""The tuning page through the app: thresholds, distributions, preview, saving."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from shelfcam.engine.config import Thresholds
from tests.devices_seed import add_scored_frames
from tests.events_seed import seed_event
from tests.webapp import WebApp, create_token, create_user, csrf_of, login, running_app

pytestmark = pytest.mark.anyio

DEFAULT_DELTA = Thresholds().inventory_change_threshold


async def _seeded(web: WebApp) -> tuple[str, str]:
    """pantry with 300 scored frames, a stock change (frames on disk), an interaction;
    returns the CSRF token and the stock change's id."""
    await create_user(web.db_url)
    assert (await login(web.client)).status_code == 303
    csrf = csrf_of((await web.client.get("/devices")).text)
    await web.client.post("/devices", data={"csrf_token": csrf, "name": "pantry"})
    now = datetime.now(UTC)
    with psycopg.connect(web.db_url, autocommit=True) as conn:
        add_scored_frames(conn, "pantry", now, 300)
        stock = seed_event(
            conn,
            web.store,
            device_id="pantry",
            event_type="stock_changed",
            started_at=now - timedelta(minutes=5),
        )
        seed_event(
            conn,
            web.store,
            device_id="pantry",
            event_type="interaction_detected",
            started_at=now - timedelta(minutes=20),
            roles=("thumb",),
        )
    return csrf, str(stock)


def _versions(db_url: str) -> list[tuple[int, object]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT roi_version, thresholds FROM device_configs ORDER BY roi_version"
        ).fetchall()


async def test_page_shows_thresholds_and_distributions(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _seeded(web)
        page = await web.client.get("/devices/pantry/tuning")
        assert page.status_code == 200
        text = page.text
        assert "the last 300 analyzed frame(s)" in text
        assert 'name="inventory_change_threshold" value=""' in text
        assert f'placeholder="{DEFAULT_DELTA:g}"' in text
        assert "Inventory delta (pre vs post) above which stock changed." in text
        assert text.count('<svg class="hist"') == 6
        assert re.search(
            r'<line class="threshold" [^>]*><title>inventory_change_threshold = '
            + re.escape(f"{DEFAULT_DELTA:g}")
            + "<",
            text,
        )
        assert 'class="mark type-stock_changed"' in text
        assert "Nothing proposed yet" in text
        assert "<script>" not in text
        assert (await web.client.get("/devices/ghost/tuning")).status_code == 404
        fewer = (await web.client.get("/devices/pantry/tuning?frames=100")).text
        assert "the last 100 analyzed frame(s) (of at most 100)" in fewer
        assert 'hx-post="/devices/pantry/tuning/preview?frames=100"' in fewer
        assert (await web.client.get("/devices/pantry/tuning?frames=5")).status_code == 422


async def test_preview_shows_what_would_change_and_saving_makes_a_version(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf, stock = await _seeded(web)
        preview = await web.client.post(
            "/devices/pantry/tuning/preview",
            data={
                "csrf_token": csrf,
                "inventory_change_threshold": "0.9",
                "interaction_threshold": "0.005",
            },
            headers={"HX-Request": "true"},
        )
        assert preview.status_code == 200
        text = preview.text
        assert "<html" not in text and 'id="tuning-results"' in text
        assert (
            f"<code>inventory_change_threshold</code> {DEFAULT_DELTA:g} &rarr; <strong>0.9</strong>"
            in text
        )
        row = re.search(rf'<tr class="change-dropped">.*?/events/{stock}.*?</tr>', text, re.S)
        assert row, "the stock change would no longer pass"
        assert "rescored" in row.group(0)
        assert "near miss(es) would now fire" in text
        assert 'class="threshold proposed"' in text
        assert _versions(db_url) == [(1, {})]  # a preview changes nothing

        # Without htmx the same button renders the whole page (the form keeps the values).
        full = await web.client.post(
            "/devices/pantry/tuning/preview",
            data={"csrf_token": csrf, "inventory_change_threshold": "0.9"},
        )
        assert full.status_code == 200 and "<html" in full.text
        assert 'name="inventory_change_threshold" value="0.9"' in full.text

        saved = await web.client.post(
            "/devices/pantry/tuning",
            data={"csrf_token": csrf, "inventory_change_threshold": "0.3", "stable_frames": "3"},
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/devices/pantry/tuning?saved=2"
        assert _versions(db_url)[-1] == (2, {"inventory_change_threshold": 0.3, "stable_frames": 3})
        page = (await web.client.get(saved.headers["location"])).text
        assert "now uses roi_version 2" in page
        assert 'name="inventory_change_threshold" value="0.3"' in page
        again = await web.client.post(
            "/devices/pantry/tuning",
            data={"csrf_token": csrf, "inventory_change_threshold": "0.3", "stable_frames": "3"},
        )
        assert again.headers["location"] == "/devices/pantry/tuning?unchanged=1"
        reset = await web.client.post(
            "/devices/pantry/tuning", data={"csrf_token": csrf, "reset": "1"}
        )
        assert reset.headers["location"] == "/devices/pantry/tuning?saved=3"
        assert _versions(db_url)[-1] == (3, {})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"inventory_change_threshold": "high"}, "is not a number"),
        ({"stable_frames": "2.5"}, "non-negative int"),
        ({"obstruction_threshold": "-1"}, "non-negative"),
        ({"interaction_end_threshold": "0.5"}, "must not exceed interaction_threshold"),
        ({"lighting_threshold": "nan"}, "must be a number"),
    ],
)
async def test_invalid_thresholds_are_refused_with_a_clear_message(
    db_url: str, tmp_path: Path, fields: dict[str, str], message: str
) -> None:
    async with running_app(db_url, tmp_path) as web:
        csrf, _stock = await _seeded(web)
        refused = await web.client.post(
            "/devices/pantry/tuning", data={"csrf_token": csrf, **fields}
        )
        assert refused.status_code == 400
        assert message in refused.text
        name, value = next(iter(fields.items()))
        assert f'name="{name}" value="{value}"' in refused.text
        assert [v[0] for v in _versions(db_url)] == [1]
        live = await web.client.post(
            "/devices/pantry/tuning/preview",
            data={"csrf_token": csrf, **fields},
            headers={"HX-Request": "true"},
        )
        assert live.status_code == 200
        assert message in live.text


async def test_preview_api(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        _csrf, stock = await _seeded(web)
        web.client.cookies.clear()
        auth = {"Authorization": f"Bearer {await create_token(db_url)}"}
        answer = await web.client.post(
            "/api/v1/devices/pantry/tuning/preview",
            json={"thresholds": {"inventory_change_threshold": 0.9}},
            headers=auth,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["changed_thresholds"] == [
            {"name": "inventory_change_threshold", "current": DEFAULT_DELTA, "proposed": 0.9}
        ]
        assert [(c["event_id"], c["change"]) for c in body["changes"]] == [(stock, "dropped")]
        motion = next(c for c in body["frames"] if c["score"] == "motion")
        assert motion["frames"] == 300
        assert body["events_considered"] == 2 and body["events_rescored"] == 1
        bad = await web.client.post(
            "/api/v1/devices/pantry/tuning/preview",
            json={"thresholds": {"stable_frames": 0.5}},
            headers=auth,
        )
        assert bad.status_code == 400


async def test_stored_thresholds_that_are_now_refused_are_shown_not_crashed(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _seeded(web)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("""UPDATE device_configs SET thresholds = '{"retired_threshold": 1}'""")
        page = await web.client.get("/devices/pantry/tuning")
        assert page.status_code == 400
        assert "unknown threshold &#39;retired_threshold&#39;" in page.text
        devices = await web.client.get("/devices")
        assert devices.status_code == 200
        assert "unknown threshold &#39;retired_threshold&#39;" in devices.text

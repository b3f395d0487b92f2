"""The admin UI, part 2, in a real browser (Debian's Chromium through Playwright) against a
live uvicorn: add a camera and see its token once, draw ROIs over a snapshot and save a new
roi_version, preview and save thresholds, the charts. SHELFCAM_SCREENSHOTS=1 refreshes
docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from shelfcam.engine.config import Thresholds
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.store import FrameStore
from tests.devices_seed import add_device_sync, add_scored_frames
from tests.e2e.chromium import BROWSER_MARKS, launch, shot, watch
from tests.e2e.live_server import live_server
from tests.events_seed import seed_event, shelf_jpeg
from tests.webapp import PASSWORD, create_user_sync

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def _login(page: Page, base: str, path: str) -> None:
    page.goto(f"{base}{path}")
    page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}{path}")


def _roi_version(db_url: str, device_id: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT max(roi_version) FROM device_configs WHERE device_id = %s", (device_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _drag(page: Page, selector: str, dx: float, dy: float) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=4)
    page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def test_add_a_camera_draw_its_rois_over_a_snapshot_and_save(
    browser: Browser, db_url: str, tmp_path: Path
) -> None:
    create_user_sync(db_url)
    with live_server(db_url, tmp_path) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        problems, failed = watch(page, base)
        _login(page, base, "/devices")
        expect(page.get_by_text("No cameras yet")).to_be_visible()

        # Add a camera: its token is shown once.
        page.get_by_role("textbox", name="Name", exact=True).fill("pantry")
        page.get_by_role("button", name="Add camera").click()
        expect(page.get_by_role("heading", name="Camera pantry added")).to_be_visible()
        token = page.locator("#device-token").inner_text()
        assert token.startswith("shc_")
        shot(page, "device-added", tmp_path)
        page.get_by_role("link", name="Back to the devices").click()
        expect(page.locator("#device-pantry")).to_contain_text("never seen")
        assert token not in page.content()

        # The camera sends a frame: the devices page shows it.
        sent = page.request.post(
            f"{base}/api/v1/ingest/frame?seq=1&rssi=-61&heap=91000&firmware=1.2.0",
            data=shelf_jpeg("pre"),
            headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
        )
        assert sent.status == 201
        page.reload()
        card = page.locator("#device-pantry")
        expect(card).to_contain_text("online")
        expect(card).to_contain_text("Wi-Fi -61 dBm (fair)")
        expect(card).to_contain_text("firmware 1.2.0")
        shot(page, "devices", tmp_path)

        # The ROI editor: ask the camera for a snapshot; it becomes the picture.
        card.get_by_role("link", name="Edit ROIs").click()
        expect(page).to_have_url(f"{base}/devices/pantry/roi")
        # no snapshot yet: the editor shows the camera's newest frame (latest.jpg)
        expect(page.locator("img[data-roi-image]")).to_have_attribute(
            "src", "/api/v1/devices/pantry/latest.jpg"
        )
        page.get_by_role("button", name="Ask the camera for a snapshot").click()
        expect(page.locator("#snapshot-wait")).to_be_visible()
        # The camera's next frame is told to send the snapshot; the one after is kept.
        for seq, expected in ((2, True), (3, False)):
            sent = page.request.post(
                f"{base}/api/v1/ingest/frame?seq={seq}",
                data=shelf_jpeg("post"),
                headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
            )
            assert sent.json()["snapshot_requested"] is expected
        snapshot = page.locator("img[src^='/snapshots/']")
        expect(snapshot).to_be_visible(timeout=10_000)
        page.wait_for_function(
            "() => { const i = document.querySelector(\"img[src^='/snapshots/']\");"
            " return i && i.complete && i.naturalWidth > 0 }"
        )

        # Drag two corners of the inventory ROI, add one from a midpoint, save.
        before = page.locator("#inventory_roi").input_value()
        assert before == "0,0 1,0 1,1 0,1"
        _drag(page, ".roi-canvas .handle[data-index='0']", 120, 90)
        _drag(page, ".roi-canvas .handle[data-index='1']", -100, 110)
        _drag(page, ".roi-canvas .mid[data-mid='1']", -60, 0)
        after = page.locator("#inventory_roi").input_value()
        points = [tuple(float(v) for v in p.split(",")) for p in after.split()]
        assert len(points) == 5
        assert 0.1 < points[0][0] < 0.25 and 0.1 < points[0][1] < 0.3
        # The interaction ROI: pick it, then "Whole frame" keeps it; drag its corner too.
        page.get_by_role("radio", name=re.compile("^Interaction")).check()
        _drag(page, ".roi-canvas .handle[data-index='2']", -80, -60)
        assert page.locator("#interaction_roi").input_value() != "0,0 1,0 1,1 0,1"
        page.get_by_role("radio", name=re.compile("^Inventory")).check()
        shot(page, "roi-editor", tmp_path)
        page.get_by_role("button", name="Save as roi_version 2").click()
        expect(page.get_by_role("status").first).to_contain_text("now uses roi_version 2")
        expect(page.get_by_text("snapshot it was drawn on was deleted")).to_be_visible()
        assert _roi_version(db_url, "pantry") == 2
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT inventory_roi FROM device_configs WHERE roi_version = 2"
            ).fetchone()
        assert row is not None and len(row[0]) == 5

        # On a phone: a new snapshot, the editor in one column, still draggable.
        page.set_viewport_size({"width": 390, "height": 844})
        page.get_by_role("button", name="Ask the camera for a snapshot").click()
        expect(page.locator("#snapshot-wait")).to_be_visible()
        for seq in (4, 5):  # told, then taken
            page.request.post(
                f"{base}/api/v1/ingest/frame?seq={seq}",
                data=shelf_jpeg("post", seed=4),
                headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
            )
        expect(page.locator("img[src^='/snapshots/']")).to_be_visible(timeout=10_000)
        page.wait_for_function(
            "() => { const i = document.querySelector(\"img[src^='/snapshots/']\");"
            " return i && i.complete && i.naturalWidth > 0 }"
        )
        _drag(page, ".roi-canvas .handle[data-index='3']", 20, -20)
        assert page.locator("#inventory_roi").input_value() != after
        shot(page, "roi-editor-phone", tmp_path)

        assert problems == [], problems
        assert failed == [], failed
        context.close()


def _seed_tuning(db_url: str, store: FrameStore) -> str:
    """pantry: 600 scored frames, two stock changes and an interaction with their frames."""
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(db_url, autocommit=True) as conn:
        add_device_sync(conn, "pantry")
        add_scored_frames(conn, "pantry", now, 600)
        stock = seed_event(conn, store, device_id="pantry", started_at=now - timedelta(minutes=12))
        seed_event(conn, store, device_id="pantry", started_at=now - timedelta(hours=3))
        seed_event(
            conn,
            store,
            device_id="pantry",
            event_type="interaction_detected",
            started_at=now - timedelta(minutes=40),
        )
    return str(stock)


def test_change_a_threshold_and_see_the_preview(
    browser: Browser, db_url: str, tmp_path: Path
) -> None:
    stock = _seed_tuning(db_url, FileFrameStore(tmp_path))
    create_user_sync(db_url)
    with live_server(db_url, tmp_path) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        problems, failed = watch(page, base)
        _login(page, base, "/devices/pantry/tuning")
        expect(page.get_by_role("heading", name=re.compile("Tuning pantry"))).to_be_visible()
        expect(page.locator("svg.hist")).to_have_count(6)
        expect(page.locator("#preview")).to_contain_text("Nothing proposed yet")

        # Typing a value previews it live (htmx), before anything is saved.
        page.get_by_role("textbox", name="inventory_change_threshold", exact=True).fill("0.9")
        preview = page.locator("#preview")
        default = Thresholds().inventory_change_threshold
        expect(preview).to_contain_text(f"{default:g} \u2192 0.9")
        expect(page.locator(f"tr.change-dropped a[href='/events/{stock}']")).to_be_visible()
        expect(page.locator("svg.hist line.threshold.proposed")).to_have_count(1)
        page.get_by_role("textbox", name="interaction_threshold", exact=True).fill("0.008")
        expect(preview).to_contain_text("near miss(es) would now fire")
        shot(page, "tuning", tmp_path)
        assert _roi_version(db_url, "pantry") == 1

        # An invalid combination is explained in place; saving it is refused.
        page.get_by_role("textbox", name="interaction_end_threshold", exact=True).fill("0.01")
        expect(page.get_by_role("alert")).to_contain_text("must not exceed interaction_threshold")
        page.get_by_role("textbox", name="interaction_end_threshold", exact=True).fill("")
        page.get_by_role("button", name="Save as roi_version 2").first.click()
        expect(page.get_by_role("status").first).to_contain_text("now uses roi_version 2")
        assert _roi_version(db_url, "pantry") == 2
        expect(
            page.get_by_role("textbox", name="inventory_change_threshold", exact=True)
        ).to_have_value("0.9")

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        shot(page, "tuning-phone", tmp_path)
        assert problems == [], problems
        assert failed == [], failed
        context.close()


def test_the_charts_render(browser: Browser, db_url: str, tmp_path: Path) -> None:
    store = FileFrameStore(tmp_path)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    kinds = ["interaction_detected", "interaction_detected", "stock_changed", "empty_confirmed"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        n = 0
        for day in range(14):
            for device, per_day in (
                ("pantry", 3 + day % 4),
                ("fridge", 1 + day % 3),
                ("garage", day % 2),
            ):
                for i in range(per_day):
                    event_type = kinds[(day + i) % len(kinds)]
                    if device == "garage" and i == 0 and day % 5 == 0:
                        event_type = "camera_obstructed"
                    seed_event(
                        conn,
                        store,
                        device_id=device,
                        event_type=event_type,
                        started_at=now - timedelta(days=day, hours=i * 2 + 1),
                        roles=(),
                    )
                    n += 1
    create_user_sync(db_url)
    with live_server(db_url, tmp_path) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        problems, failed = watch(page, base)
        _login(page, base, "/devices")
        page.get_by_role("link", name="Charts").click()
        expect(page).to_have_url(f"{base}/charts")
        expect(page.locator("svg.daychart")).to_have_count(4)
        bars = page.locator("svg.daychart").first.locator("rect.day")
        assert bars.count() >= 14
        box = bars.first.bounding_box()
        assert box is not None and box["height"] > 0 and box["width"] > 0
        page.get_by_role("combobox", name="Camera").select_option("pantry")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"/charts\?device=pantry"))
        expect(page.locator("svg.daychart")).to_have_count(1)
        page.goto(f"{base}/charts")
        shot(page, "charts", tmp_path)
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, "charts-phone", tmp_path)
        assert n > 50
        assert problems == [], problems
        assert failed == [], failed
        context.close()

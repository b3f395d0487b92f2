"""The admin UI in a real browser: Debian's Chromium driven by Playwright, against a live
uvicorn on a test database. Set SHELFCAM_SCREENSHOTS=1 to refresh docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.store import FrameStore
from tests.e2e.chromium import BROWSER_MARKS, launch, watch
from tests.e2e.chromium import shot as _shot
from tests.e2e.live_server import live_server
from tests.events_seed import seed_event
from tests.webapp import PASSWORD, create_user_sync

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def _seed_timeline(db_url: str, store: FrameStore) -> str:
    """A few events of the last hours; returns the newest stock_changed one."""
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(db_url, autocommit=True) as conn:
        seed_event(
            conn,
            store,
            device_id="garage-shelf",
            event_type="camera_obstructed",
            started_at=now - timedelta(hours=26),
            roles=("pre", "thumb"),
            expired=("pre", "thumb"),
            confidence=0.93,
        )
        seed_event(
            conn,
            store,
            device_id="fridge",
            event_type="interaction_detected",
            started_at=now - timedelta(hours=2, minutes=14),
            roles=("pre", "during", "post", "thumb"),
            confidence=0.71,
        )
        event_id = seed_event(
            conn,
            store,
            device_id="pantry",
            event_type="stock_changed",
            started_at=now - timedelta(minutes=7),
            roles=("pre", "during", "post", "annotated", "thumb"),
        )
    return str(event_id)


def _image_loaded(page: Page, selector: str) -> bool:
    return bool(page.locator(selector).evaluate("img => img.complete && img.naturalWidth > 0"))


def test_login_timeline_and_event_page(browser: Browser, db_url: str, tmp_path: Path) -> None:
    store = FileFrameStore(tmp_path)
    event_id = _seed_timeline(db_url, store)
    create_user_sync(db_url)
    with live_server(db_url, tmp_path, timeline_poll_seconds=1) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        problems, failed = watch(page, base)

        # Without a session the timeline sends the browser to the login page.
        page.goto(f"{base}/")
        expect(page).to_have_url(f"{base}/login")
        expect(page.get_by_label("User name")).to_have_value("admin")
        _shot(page, "login", tmp_path)

        # A wrong password is refused.
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
        expect(page).to_have_url(f"{base}/login")

        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{base}/")
        expect(page.get_by_role("heading", name="Timeline")).to_be_visible()

        # The seeded event is there, with its thumbnail loaded.
        row = page.locator(f"#event-{event_id}")
        expect(row).to_contain_text("stock changed")
        expect(row).to_contain_text("pantry")
        expect(row).to_contain_text(re.compile(r"\d+ min ago"))
        thumb = f"#event-{event_id} img"
        expect(page.locator(thumb)).to_have_attribute("src", f"/images/{event_id}/thumb")
        page.wait_for_function(
            "sel => { const i = document.querySelector(sel); return i && i.complete "
            "&& i.naturalWidth > 0 }",
            arg=thumb,
        )
        expect(page.locator("li.event").nth(2)).to_contain_text("image expired")
        _shot(page, "timeline", tmp_path)

        # A new event appears without a reload (htmx polls for it).
        with psycopg.connect(db_url, autocommit=True) as conn:
            fresh = seed_event(
                conn,
                store,
                device_id="freezer",
                event_type="empty_confirmed",
                started_at=datetime.now(UTC),
                roles=("post", "thumb"),
            )
        expect(page.locator("li.event").first).to_have_id(f"event-{fresh}")
        expect(page.locator(f"#event-{fresh}")).to_have_count(1)

        # The event page: three frames side by side, the overlay, scores and the trace.
        row.get_by_role("link").click()
        expect(page).to_have_url(f"{base}/events/{event_id}")
        for role in ("pre", "during", "post"):
            selector = f".frame-{role} img"
            expect(page.locator(selector)).to_be_visible()
            page.wait_for_function(
                "sel => { const i = document.querySelector(sel); return i.complete "
                "&& i.naturalWidth > 0 }",
                arg=selector,
            )
            assert _image_loaded(page, selector)
        boxes = [
            page.locator(f".frame-{role} img").bounding_box() for role in ("pre", "during", "post")
        ]
        assert all(b is not None for b in boxes)
        xs = [b["x"] for b in boxes if b]
        assert xs == sorted(xs) and len(set(xs)) == 3, "pre, during and post side by side"
        expect(page.locator(".frame-post svg.regions rect")).to_have_count(1)
        steps = page.locator(".steps li")
        expect(steps).to_have_text(
            [
                "interaction_start",
                "burst_requested",
                "post_stable_found",
                "delta_exceeded_threshold",
                "event_emitted",
            ]
        )
        expect(page.locator(".score").filter(has_text="inventory_delta")).to_contain_text(
            "inventory_change_threshold 0.22"
        )
        raw = page.locator("details.raw pre")
        expect(raw).to_be_hidden()
        page.get_by_text("Raw details JSON").click()
        expect(raw).to_contain_text('"roi_version": 3')
        _shot(page, "event", tmp_path)

        # On a phone the frames stack into one column.
        page.set_viewport_size({"width": 390, "height": 844})
        boxes = [
            page.locator(f".frame-{role} img").bounding_box() for role in ("pre", "during", "post")
        ]
        ys = [b["y"] for b in boxes if b]
        assert ys == sorted(ys) and len(set(ys)) == 3
        page.goto(f"{base}/")
        expect(page.locator(f"#event-{event_id}")).to_be_visible()
        _shot(page, "timeline-phone", tmp_path)

        # Log out: the session is gone.
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{base}/login")
        assert page.request.get(f"{base}/api/v1/events").status == 401
        assert problems == [], problems
        assert failed == [("/login", 401)], failed  # only the wrong password
        context.close()


def test_images_and_api_refuse_a_browser_without_a_session(
    browser: Browser, db_url: str, tmp_path: Path
) -> None:
    event_id = _seed_timeline(db_url, FileFrameStore(tmp_path))
    with live_server(db_url, tmp_path) as base:
        context = browser.new_context()
        page = context.new_page()
        image = page.goto(f"{base}/images/{event_id}/post")
        assert image is not None
        assert image.status == 401
        assert image.headers["content-type"] == "application/json"
        assert image.json()["error"] == "unauthorized"
        api = page.goto(f"{base}/api/v1/events")
        assert api is not None
        assert api.status == 401
        assert api.json()["error"] == "unauthorized"
        page.goto(f"{base}/events/{event_id}")
        expect(page).to_have_url(re.compile(rf"{re.escape(base)}/login\?next=/events/"))
        context.close()

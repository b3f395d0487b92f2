"""The admin UI's pages, rendered through the app: timeline, live updates, event page."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.events_seed import seed_event
from tests.webapp import WebApp, create_user, login, running_app

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
_HX_GET = re.compile(r'hx-get="([^"]+)"')


async def _logged_in(web: WebApp) -> None:
    await create_user(web.db_url)
    assert (await login(web.client)).status_code == 303


def _rows(page: str) -> list[str]:
    return re.findall(r'<li class="event" id="event-([0-9a-f-]+)"', page)


def _hx_get(fragment: str, marker: str) -> str:
    for found in _HX_GET.findall(fragment):
        url = html.unescape(found)
        if url.startswith(marker):
            return url
    raise AssertionError(f"no hx-get {marker}... in the page")


async def test_timeline_lists_events_with_thumbnails_badges_and_times(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _logged_in(web)
        with psycopg.connect(db_url, autocommit=True) as conn:
            older = seed_event(conn, web.store, device_id="fridge", started_at=T0)
            newer = seed_event(
                conn,
                web.store,
                device_id="pantry",
                event_type="camera_obstructed",
                started_at=T0 + timedelta(hours=1),
                roles=("thumb",),
                expired=("thumb",),
            )
        page = await web.client.get("/")
        assert page.status_code == 200
        assert "default-src 'self'" in page.headers["content-security-policy"]
        text = page.text
        assert _rows(text) == [str(newer), str(older)]
        assert f'src="/images/{older}/thumb"' in text
        assert f'src="/images/{newer}/thumb"' not in text  # expired: a placeholder instead
        assert "image expired" in text
        assert 'class="badge type-stock_changed">stock changed<' in text
        assert 'class="badge type-camera_obstructed">obstructed<' in text
        assert 'datetime="2026-11-20T12:00:00+00:00"' in text
        assert "ago" in text
        assert f'href="/events/{older}"' in text
        # Everything the page loads comes from this server.
        assert not re.search(r'(src|href)="(https?:)?//', text)
        assert '<script src="/static/htmx.min.js"' in text


async def test_timeline_filters_and_pages(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _logged_in(web)
        ids = []
        with psycopg.connect(db_url, autocommit=True) as conn:
            for i in range(35):
                ids.append(
                    seed_event(
                        conn,
                        web.store,
                        device_id="pantry",
                        started_at=T0 + timedelta(minutes=i),
                        roles=(),
                    )
                )
            other = seed_event(
                conn,
                web.store,
                device_id="fridge",
                event_type="scene_shifted",
                started_at=T0 - timedelta(days=3),
                roles=(),
            )
        newest_first = [str(i) for i in reversed(ids)] + [str(other)]
        first = (await web.client.get("/")).text
        assert _rows(first) == newest_first[:30]
        more_url = _hx_get(first, "/timeline/more?")
        rest = await web.client.get(more_url, headers={"HX-Request": "true"})
        assert rest.status_code == 200
        assert "<html" not in rest.text  # a fragment, not a page
        assert _rows(rest.text) == newest_first[30:]
        assert "/timeline/more" not in rest.text
        # Without JavaScript the same cursor works as a plain link.
        older_page = await web.client.get(more_url.replace("/timeline/more", "/"))
        assert _rows(older_page.text) == newest_first[30:]

        only_fridge = (await web.client.get("/?device=fridge")).text
        assert _rows(only_fridge) == [str(other)]
        only_type = (await web.client.get("/?type=scene_shifted")).text
        assert _rows(only_type) == [str(other)]
        day = (T0 - timedelta(days=3)).astimezone().date().isoformat()
        dated = (await web.client.get(f"/?from={day}&to={day}")).text
        assert _rows(dated) == [str(other)]
        none = (await web.client.get("/?type=stock_changed&device=fridge")).text
        assert _rows(none) == []
        assert "No events match these filters." in none
        bad = await web.client.get("/?from=31.12.2026")
        assert bad.status_code == 400
        assert "from must be a date" in bad.text


async def test_new_events_arrive_through_the_poller(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _logged_in(web)
        with psycopg.connect(db_url, autocommit=True) as conn:
            first = seed_event(conn, web.store, device_id="pantry", started_at=T0)
        page = (await web.client.get("/?device=pantry")).text
        assert 'hx-trigger="every 5s"' in page
        poll = _hx_get(page, "/timeline/new?")
        assert "device=pantry" in poll
        quiet = await web.client.get(poll, headers={"HX-Request": "true"})
        assert _rows(quiet.text) == []
        with psycopg.connect(db_url, autocommit=True) as conn:
            second = seed_event(
                conn, web.store, device_id="pantry", started_at=T0 + timedelta(minutes=5)
            )
            seed_event(conn, web.store, device_id="fridge", started_at=T0 + timedelta(minutes=6))
        news = await web.client.get(poll, headers={"HX-Request": "true"})
        assert news.status_code == 200
        assert 'hx-swap-oob="afterbegin:#events"' in news.text
        assert _rows(news.text) == [str(second)]  # the fridge's event is filtered out
        assert str(first) not in news.text
        # The next poller starts after what was just delivered.
        later = _hx_get(news.text, "/timeline/new?")
        assert later != poll
        again = await web.client.get(later, headers={"HX-Request": "true"})
        assert _rows(again.text) == []


async def test_live_updates_can_be_turned_off(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path, timeline_poll_seconds=0) as web:
        await _logged_in(web)
        page = (await web.client.get("/")).text
        assert "/timeline/new" not in page


async def test_event_page_explains_the_event(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _logged_in(web)
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(
                conn,
                web.store,
                device_id="pantry",
                started_at=T0,
                roles=("pre", "during", "post", "annotated", "thumb"),
            )
        response = await web.client.get(f"/events/{event_id}")
        assert response.status_code == 200
        text = response.text
        for role in ("pre", "during", "post"):
            assert f'src="/images/{event_id}/{role}"' in text
        # Pre, during and post side by side, in that order.
        assert text.index("frame-pre") < text.index("frame-during") < text.index("frame-post")
        # The changed region drawn over the post frame (normalised coordinates).
        overlay = text[text.index("frame-post") :]
        assert re.search(r'<svg class="regions"[^>]*>\s*<rect x="0.28125" y="0.29166', overlay)
        assert f'src="/images/{event_id}/annotated"' in text
        # Each score against its threshold.
        assert "inventory_delta" in text
        assert "inventory_change_threshold 0.22" in text
        assert "interaction_threshold 0.18" in text
        assert text.count('<svg class="bar"') == 2
        # The decision trace as ordered steps.
        steps = re.findall(r"<li>([a-z_]+)</li>", text[text.index('class="steps"') :])
        assert steps == [
            "interaction_start",
            "burst_requested",
            "post_stable_found",
            "delta_exceeded_threshold",
            "event_emitted",
        ]
        assert "<dt>ROI version</dt><dd>3</dd>" in text
        assert "<dt>Baseline age</dt><dd>7 min</dd>" in text
        assert "3 stable frame(s)" in text
        assert "<summary>Raw details JSON</summary>" in text
        assert "&#34;inventory_change_threshold&#34;: 0.22" in text
        assert "image expired" not in text


async def test_event_page_shows_expired_and_missing_frames(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _logged_in(web)
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(
                conn,
                web.store,
                device_id="pantry",
                event_type="camera_obstructed",
                started_at=T0,
                roles=("pre", "post"),
                expired=("pre",),
            )
        web.store.delete(f"events/pantry/2026-11-20/{event_id}/post.jpg")
        text = (await web.client.get(f"/events/{event_id}")).text
        assert text.count("image expired") == 1  # pre: retention expired it
        assert text.count("image missing from the frame store") == 1  # post: deleted behind
        assert "no during frame" in text
        assert f'src="/images/{event_id}/pre"' not in text
        assert "obstruction_threshold" in text


async def test_unknown_event_page_is_404(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _logged_in(web)
        response = await web.client.get(f"/events/{uuid.uuid4()}")
        assert response.status_code == 404
        assert "Event not found" in response.text

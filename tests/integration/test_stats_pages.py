"""Charts: events per day per type and camera, as SVG and as JSON."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.events_seed import seed_event
from tests.webapp import WebApp, create_token, create_user, login, running_app

pytestmark = pytest.mark.anyio


def _local(days_ago: int, hour: int) -> datetime:
    today = datetime.now().astimezone().date()
    return datetime.combine(today - timedelta(days=days_ago), time(hour)).astimezone()


async def _seed(web: WebApp) -> None:
    with psycopg.connect(web.db_url, autocommit=True) as conn:
        for days_ago, hour, device, event_type in [
            (0, 1, "pantry", "stock_changed"),
            (0, 0, "pantry", "stock_changed"),  # local midnight: today, not yesterday
            (0, 9, "pantry", "interaction_detected"),
            (1, 23, "pantry", "interaction_detected"),
            (3, 12, "fridge", "camera_obstructed"),
            (20, 12, "fridge", "scene_shifted"),  # outside 14 days
        ]:
            seed_event(
                conn,
                web.store,
                device_id=device,
                event_type=event_type,
                started_at=_local(days_ago, hour),
                roles=(),
            )


async def test_charts_page_draws_stacked_days(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        await login(web.client)
        await _seed(web)
        page = await web.client.get("/charts")
        assert page.status_code == 200
        text = page.text
        assert text.count('<svg class="daychart"') == 3  # all cameras + one per camera
        today = _local(0, 0).date().isoformat()
        yesterday = _local(1, 0).date().isoformat()
        assert f"<title>{today}: 2 stock_changed</title>" in text
        assert f"<title>{today}: 1 interaction_detected</title>" in text
        assert f"<title>{yesterday}: 1 interaction_detected</title>" in text
        assert "scene_shifted</title>" not in text
        assert re.search(r"stock changed <span class=\"muted\">2</span>", text)
        assert "<td>pantry</td>" in text and "<td>fridge</td>" in text
        only = (await web.client.get("/charts?device=fridge&days=30")).text
        assert only.count('<svg class="daychart"') == 1
        assert "scene_shifted</title>" in only
        assert "stock_changed</title>" not in only
        empty = (await web.client.get("/charts?days=1&device=fridge")).text
        assert "No events in these days." in empty
        assert (await web.client.get("/charts?days=0")).status_code == 422


async def test_events_per_day_api(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await _seed(web)
        auth = {"Authorization": f"Bearer {await create_token(db_url)}"}
        body = (await web.client.get("/api/v1/stats/events-per-day?days=7", headers=auth)).json()
        assert len(body["days"]) == 7
        assert body["days"][-1] == _local(0, 0).date().isoformat()
        series = {(s["device_id"], s["event_type"]): s["counts"] for s in body["series"]}
        assert series[("pantry", "stock_changed")][-1] == 2
        assert series[("pantry", "interaction_detected")][-2:] == [1, 1]
        assert sum(series[("fridge", "camera_obstructed")]) == 1
        assert sum(series[("fridge", "scene_shifted")]) == 0
        assert (await web.client.get("/api/v1/stats/events-per-day")).status_code == 401

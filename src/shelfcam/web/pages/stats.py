"""The stats page (`/charts`, "Charts" in the menu): events per day, per type and camera,
as server-rendered SVG."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shelfcam.accounts import admins
from shelfcam.activity import stats, timeline
from shelfcam.vocabulary import DEVICE_ID_PATTERN, EVENT_TYPES
from shelfcam.web.auth import require_page_session
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.svg import DaySeries, stacked_days
from shelfcam.web.templating import render

router = APIRouter(include_in_schema=False)

Context = Annotated[AppContext, Depends(get_context)]
PageSession = Annotated[admins.Session, Depends(require_page_session)]
DAY_CHOICES = (7, 14, 30, 90)


def series_of(per_type: dict[str, list[int]]) -> list[DaySeries]:
    return [DaySeries(t, per_type[t]) for t in EVENT_TYPES]


@router.get("/charts")
async def charts(
    request: Request,
    context: Context,
    session: PageSession,
    days: Annotated[int, Query(ge=1, le=stats.MAX_DAYS)] = 14,
    device: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    camera = device if DEVICE_ID_PATTERN.fullmatch(device) else None
    today = datetime.now().astimezone().date()
    async with context.require_pool().connection() as conn:
        counts = await stats.events_per_day(conn, days=days, today=today, device_id=camera)
        cameras = await timeline.device_ids(conn)
    overall = counts.by_type(camera)
    per_device = [
        (
            name,
            stacked_days(counts.days, series_of(counts.by_type(name)), width=420, height=160),
            counts,
        )
        for name in counts.devices()
    ]
    values: dict[str, Any] = {
        "session": session,
        "days": days,
        "day_choices": DAY_CHOICES,
        "device": camera or "",
        "cameras": cameras,
        "counts": counts,
        "event_types": EVENT_TYPES,
        "overall": stacked_days(counts.days, series_of(overall)),
        "totals": {t: sum(overall[t]) for t in EVENT_TYPES},
        "per_device": per_device if camera is None and len(per_device) > 1 else [],
    }
    return render(request, "stats.html", values)

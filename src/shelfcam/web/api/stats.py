"""Counts for charts, as JSON (session or admin token)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shelfcam.activity import stats
from shelfcam.vocabulary import EventType
from shelfcam.web.api.common import DEVICE_ID_REGEX, UNAUTHORIZED
from shelfcam.web.auth import require_api_principal
from shelfcam.web.context import AppContext, get_context

router = APIRouter(
    prefix="/api/v1/stats",
    tags=["stats"],
    dependencies=[Depends(require_api_principal)],
    responses=UNAUTHORIZED,
)


class DaySeriesOut(BaseModel):
    device_id: str
    event_type: EventType
    counts: list[int] = Field(description="One count per day of `days`")


class EventsPerDayOut(BaseModel):
    days: list[date] = Field(description="Local days of the server's time zone, oldest first")
    series: list[DaySeriesOut] = Field(description="Every camera with events in these days")


@router.get("/events-per-day", summary="Events per day, per type and camera")
async def events_per_day(
    context: Annotated[AppContext, Depends(get_context)],
    days: Annotated[int, Query(ge=1, le=stats.MAX_DAYS)] = 14,
    device: Annotated[
        str | None, Query(description="Only this camera", pattern=DEVICE_ID_REGEX)
    ] = None,
) -> EventsPerDayOut:
    today = datetime.now().astimezone().date()
    async with context.require_pool().connection() as conn:
        counts = await stats.events_per_day(conn, days=days, today=today, device_id=device)
    return EventsPerDayOut(
        days=counts.days,
        series=[
            DaySeriesOut(device_id=name, event_type=event_type, counts=per_day)
            for name in counts.devices()
            for event_type, per_day in counts.counts[name].items()
        ],
    )

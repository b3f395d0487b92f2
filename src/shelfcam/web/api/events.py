"""The JSON API for events: the activity log page by page, and one event with its images."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shelfcam.activity import timeline
from shelfcam.vocabulary import EventType
from shelfcam.web.api.common import DEVICE_ID_REGEX, UNAUTHORIZED, Context
from shelfcam.web.auth import require_api_principal
from shelfcam.web.schemas import (
    ErrorBody,
    EventOut,
    EventPageOut,
    event_out,
)

CURSOR_PATTERN = "^[A-Za-z0-9_-]{1,200}$"
"""What a next_cursor looks like (URL-safe base64); only a real one decodes."""

router = APIRouter(
    prefix="/api/v1",
    tags=["events"],
    dependencies=[Depends(require_api_principal)],
    responses=UNAUTHORIZED,
)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@router.get(
    "/events",
    summary="List events, newest first",
    responses={400: {"model": ErrorBody, "description": "A bad filter or cursor"}},
)
async def list_events(
    context: Context,
    *,
    device: Annotated[
        str | None, Query(description="Only this camera", pattern=DEVICE_ID_REGEX)
    ] = None,
    type: Annotated[EventType | None, Query(description="Only this event type")] = None,
    since: Annotated[
        datetime | None, Query(description="started_at >= since (ISO 8601; naive = UTC)")
    ] = None,
    until: Annotated[datetime | None, Query(description="started_at < until")] = None,
    cursor: Annotated[
        str | None,
        Query(
            description="next_cursor of the previous page (another value: 400 or 422)",
            pattern=CURSOR_PATTERN,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=timeline.MAX_PAGE)] = timeline.DEFAULT_PAGE,
) -> EventPageOut:
    filters = timeline.EventFilter(device, type, _aware(since), _aware(until))
    async with context.require_pool().connection() as conn:
        page = await timeline.list_events(conn, context.store, filters, cursor=cursor, limit=limit)
    return EventPageOut(events=[event_out(e) for e in page.events], next_cursor=page.next_cursor)


@router.get(
    "/events/{event_id}",
    summary="One event with its images",
    responses={404: {"model": ErrorBody, "description": "No such event"}},
)
async def get_event(context: Context, event_id: uuid.UUID) -> EventOut:
    async with context.require_pool().connection() as conn:
        event = await timeline.get_event(conn, context.store, event_id)
    return event_out(event)

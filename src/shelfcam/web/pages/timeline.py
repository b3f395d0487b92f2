"""The admin UI's pages: the timeline (home) and one event's explanation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from shelfcam.accounts import admins
from shelfcam.activity import explain, timeline
from shelfcam.errors import InvalidInput, NotFound
from shelfcam.vocabulary import DEVICE_ID_PATTERN, EVENT_TYPES, FRAME_ROLES
from shelfcam.web.auth import require_page_session
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Context = Annotated[AppContext, Depends(get_context)]
PageSession = Annotated[admins.Session, Depends(require_page_session)]


@dataclass(frozen=True)
class TimelineQuery:
    """The timeline's filters as the form sends them (dates are local days, inclusive)."""

    device: str = ""
    type: str = ""
    date_from: str = ""
    date_to: str = ""

    def params(self, **extra: str) -> str:
        values = {
            "device": self.device,
            "type": self.type,
            "from": self.date_from,
            "to": self.date_to,
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})

    def to_filter(self) -> timeline.EventFilter:
        def day(text: str, what: str) -> datetime | None:
            if not text:
                return None
            try:
                day = date.fromisoformat(text)
            except ValueError as err:
                raise InvalidInput(f"{what} must be a date such as 2026-01-31") from err
            try:
                return datetime.combine(day, time()).astimezone()
            except (ValueError, OverflowError):  # year 1 or 9999: the local zone is moot
                return datetime.combine(day, time(), tzinfo=UTC)

        if self.device and not DEVICE_ID_PATTERN.fullmatch(self.device):
            raise InvalidInput("camera must be a device name such as pantry")
        since = day(self.date_from, "from")
        until = day(self.date_to, "to")
        if self.type and self.type not in EVENT_TYPES:
            raise InvalidInput(f"type must be one of {', '.join(EVENT_TYPES)}")
        return timeline.EventFilter(
            device_id=self.device or None,
            event_type=self.type or None,
            since=since,
            until=None if until is None or until.date() == date.max else until + timedelta(days=1),
        )

    @property
    def active(self) -> bool:
        return bool(self.device or self.type or self.date_from or self.date_to)


def _timeline_query(
    device: Annotated[str, Query(max_length=63)] = "",
    type: Annotated[str, Query(max_length=40)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> TimelineQuery:
    return TimelineQuery(device, type, date_from, date_to)


Filters = Annotated[TimelineQuery, Depends(_timeline_query)]


def _poll_params(query: TimelineQuery, after: datetime) -> str:
    return query.params(after=after.isoformat())


@router.get("/")
async def timeline_page(
    request: Request,
    context: Context,
    session: PageSession,
    query: Filters,
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    page_events: list[timeline.Event] = []
    next_cursor: str | None = None
    error: str | None = None
    async with context.require_pool().connection() as conn:
        devices = await timeline.device_ids(conn)
        mark = await timeline.watermark(conn) or _EPOCH
        try:
            page = await timeline.list_events(
                conn, context.store, query.to_filter(), cursor=cursor or None, limit=PAGE_SIZE
            )
            page_events, next_cursor = page.events, page.next_cursor
        except InvalidInput as err:
            error = err.detail
    poll_seconds = context.settings.timeline_poll_seconds
    values: dict[str, Any] = {
        "session": session,
        "events": page_events,
        "next_cursor": next_cursor,
        "query": query,
        "devices": devices,
        "event_types": EVENT_TYPES,
        "error": error,
        "older_page": bool(cursor),
        "poll_seconds": poll_seconds if not cursor and error is None else 0,
        "poll_params": _poll_params(query, mark),
    }
    return render(request, "timeline.html", values, status_code=400 if error else 200)


@router.get("/timeline/more")
async def timeline_more(
    request: Request,
    context: Context,
    session: PageSession,
    query: Filters,
    cursor: Annotated[str, Query(max_length=200)],
) -> Response:
    """The next rows of the timeline (infinite scroll), ending with the next loader."""
    async with context.require_pool().connection() as conn:
        page = await timeline.list_events(
            conn, context.store, query.to_filter(), cursor=cursor, limit=PAGE_SIZE
        )
    values = {"events": page.events, "next_cursor": page.next_cursor, "query": query}
    return render(request, "timeline.html", values, block_name="rows")


@router.get("/timeline/new")
async def timeline_new(
    request: Request,
    context: Context,
    session: PageSession,
    query: Filters,
    after: Annotated[datetime, Query()],
) -> Response:
    """Events recorded since ``after``: rows for the top of the list, and the next poller."""
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    async with context.require_pool().connection() as conn:
        new = await timeline.events_since(conn, context.store, query.to_filter(), after)
    mark = max((e.created_at for e in new), default=after)
    values = {
        "events": new,
        "poll_seconds": context.settings.timeline_poll_seconds,
        "poll_params": _poll_params(query, mark),
    }
    return render(request, "timeline_new.html", values)


@router.get("/events/{event_id}")
async def event_page(
    request: Request, context: Context, session: PageSession, event_id: uuid.UUID
) -> Response:
    try:
        async with context.require_pool().connection() as conn:
            event = await timeline.get_event(conn, context.store, event_id)
    except NotFound as err:
        values = {"session": session, "title": "Event not found", "message": err.detail}
        return render(request, "error.html", values, status_code=404)
    values = {
        "session": session,
        "event": event,
        "why": explain.explain(event.details),
        "frame_roles": FRAME_ROLES,
    }
    return render(request, "event.html", values)

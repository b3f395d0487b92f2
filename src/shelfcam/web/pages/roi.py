"""The ROI editor: draw the interaction and inventory polygons over the camera's latest
snapshot (or event frame), ask the camera for a new snapshot, save a new roi_version.

The polygons travel as text (``x,y x,y ...``, normalised 0..1), the CLI's notation: the
form works without JavaScript (edit the text), and ``static/roi-editor.js`` adds dragging.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shelfcam import devices
from shelfcam.accounts import admins
from shelfcam.devices import overview, snapshots
from shelfcam.errors import InvalidInput, NotFound, ShelfcamError
from shelfcam.vision import polygons
from shelfcam.web.auth import require_csrf, require_page_session
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.pages.devices import not_found_page
from shelfcam.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Context = Annotated[AppContext, Depends(get_context)]
PageSession = Annotated[admins.Session, Depends(require_page_session)]
PostSession = Annotated[admins.Session, Depends(require_csrf)]
PolyText = Annotated[str, Form(max_length=4000)]
SNAPSHOT_POLL_SECONDS = 2


def polygon_text(value: object) -> str:
    """A stored ROI as ``x,y x,y ...``; the whole frame if it cannot be read."""
    try:
        return polygons.to_text(polygons.from_json(value))
    except ShelfcamError:
        return polygons.to_text(polygons.FULL_FRAME)


async def _editor(
    request: Request,
    context: AppContext,
    session: admins.Session,
    device_id: str,
    *,
    interaction: str | None = None,
    inventory: str | None = None,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    try:
        async with context.require_pool().connection() as conn:
            status = await overview.status_of(conn, device_id, datetime.now(UTC))
            backdrop = await snapshots.backdrop(conn, context.store, device_id)
    except NotFound as err:
        return not_found_page(request, session, err)
    device = status.device
    latest = context.ingestor.latest.get(device_id) if context.ingestor else None
    if backdrop is None and latest is not None:  # no snapshot yet: the newest frame
        url = f"/api/v1/devices/{device_id}/latest.jpg"
        backdrop = snapshots.Backdrop("latest", url, latest.received_at)
    requested = status.snapshot_requested_at
    values: dict[str, Any] = {
        "session": session,
        "device": device,
        "backdrop": backdrop,
        "interaction_text": interaction or polygon_text(device["interaction_roi"]),
        "inventory_text": inventory or polygon_text(device["inventory_roi"]),
        "message": message,
        "error": error,
        # While a snapshot is pending, poll for one received after the request.
        "waiting": requested is not None,
        "requested_at": requested,
        "poll_seconds": SNAPSHOT_POLL_SECONDS,
        "poll_after": requested.isoformat() if requested else "",
    }
    return render(request, "roi.html", values, status_code=status_code)


@router.get("/devices/{device_id}/roi")
async def roi_editor(
    request: Request,
    context: Context,
    session: PageSession,
    device_id: str,
    saved: Annotated[int | None, Query(ge=1)] = None,
    deleted: Annotated[int, Query(ge=0, le=1)] = 0,
    waiting: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """``waiting=1`` (after asking for a snapshot) only makes the URL say so: the page
    waits whenever the device's snapshot request is pending."""
    message = None
    if saved is not None:
        message = f"Saved: the camera now uses roi_version {saved}."
        if deleted:
            message += " The snapshot it was drawn on was deleted."
    return await _editor(request, context, session, device_id, message=message)


@router.post("/devices/{device_id}/roi")
async def save_roi(
    request: Request,
    context: Context,
    session: PostSession,
    device_id: str,
    interaction_roi: PolyText = "",
    inventory_roi: PolyText = "",
    snapshot_id: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    try:
        interaction = polygons.parse(interaction_roi, "interaction ROI")
        inventory = polygons.parse(inventory_roi, "inventory ROI")
        async with context.require_pool().connection() as conn:
            version = await devices.set_config(
                conn, device_id, interaction_roi=interaction, inventory_roi=inventory
            )
            deleted = False
            if snapshot_id:
                try:
                    capture = uuid.UUID(snapshot_id)
                except ValueError as err:
                    raise InvalidInput("snapshot_id is not a capture id") from err
                deleted = await snapshots.discard(conn, context.store, device_id, capture)
    except NotFound as err:
        return not_found_page(request, session, err)
    except InvalidInput as err:
        return await _editor(
            request,
            context,
            session,
            device_id,
            interaction=interaction_roi,
            inventory=inventory_roi,
            error=err.detail,
            status_code=400,
        )
    log.info(
        "action=roi_saved device=%s roi_version=%d user=%s", device_id, version, session.username
    )
    target = f"/devices/{device_id}/roi?saved={version}" + ("&deleted=1" if deleted else "")
    return RedirectResponse(target, status_code=303)


@router.post("/devices/{device_id}/snapshot")
async def ask_for_snapshot(
    request: Request, context: Context, session: PostSession, device_id: str
) -> Response:
    try:
        async with context.require_pool().connection() as conn:
            await devices.request_snapshot(conn, device_id)
    except NotFound as err:
        return not_found_page(request, session, err)
    log.info("action=snapshot_requested device=%s user=%s", device_id, session.username)
    return RedirectResponse(f"/devices/{device_id}/roi?waiting=1", status_code=303)


@router.get("/devices/{device_id}/snapshot/status")
async def snapshot_status(
    request: Request,
    context: Context,
    session: PageSession,
    device_id: str,
    after: Annotated[datetime, Query()],
) -> Response:
    """Polled by the editor while it waits: reload the page once the snapshot is there."""
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    async with context.require_pool().connection() as conn:
        arrived = await snapshots.arrived_after(conn, device_id, after)
    if arrived:
        return Response(headers={"HX-Redirect": f"/devices/{device_id}/roi"})
    values = {
        "device": {"device_id": device_id},
        "poll_seconds": SNAPSHOT_POLL_SECONDS,
        "poll_after": after.isoformat(),
        "requested_at": after,
        "waiting": True,
    }
    return render(request, "roi.html", values, block_name="waiting")

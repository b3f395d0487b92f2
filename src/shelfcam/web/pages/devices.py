"""The devices page: each camera's status, and adding, rotating, revoking, marking empty and
the privacy option. Every change is a POST with the session's CSRF token; a new token is
shown once, in the answer to the POST, never in a URL or a log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shelfcam import devices
from shelfcam.accounts import admins
from shelfcam.devices import overview, pulls, references
from shelfcam.errors import InvalidInput, NotFound, ShelfcamError
from shelfcam.outputs import status as output_status
from shelfcam.outputs.setup import configured
from shelfcam.vocabulary import DEVICE_ID_PATTERN
from shelfcam.web.auth import require_csrf, require_page_session
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Context = Annotated[AppContext, Depends(get_context)]
PageSession = Annotated[admins.Session, Depends(require_page_session)]
PostSession = Annotated[admins.Session, Depends(require_csrf)]
DeviceName = Annotated[str, Form(max_length=63)]
PullUrlField = Annotated[str, Form(max_length=2048)]

# What a redirect after a change says (by code, so no text travels in the URL).
MESSAGES = {
    "marked_empty": "The latest stable frame is now the empty-shelf reference.",
    "privacy_on": "Stored frames are now blurred outside the inventory ROI (new events only).",
    "privacy_off": "Stored frames are no longer blurred.",
    "revoked": "The device's token is revoked: its uploads are refused from now on.",
    "already_revoked": "The device was already revoked.",
    "pulled": "The camera is now pulled from its URL (by shelfcam serve or shelfcam puller).",
    "unpulled": "The camera is no longer pulled.",
}


def ingest_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/api/v1/ingest/frame"


async def _devices_page(
    request: Request,
    context: AppContext,
    session: admins.Session,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    new_name: str = "",
) -> Response:
    now = datetime.now(UTC)
    async with context.require_pool().connection() as conn:
        statuses = await overview.all_statuses(conn, now)
        outputs = await output_status.states(conn, configured(context.settings))
        pulled = await pulls.states(conn)
    values: dict[str, Any] = {
        "session": session,
        "statuses": statuses,
        "pulls": pulled,
        "outputs": outputs,
        "message": message,
        "error": error,
        "new_name": new_name,
    }
    return render(request, "devices.html", values, status_code=status_code)


def _done(device_id: str, code: str) -> RedirectResponse:
    return RedirectResponse(f"/devices?done={code}&device={device_id}", status_code=303)


@router.get("/devices")
async def devices_page(
    request: Request,
    context: Context,
    session: PageSession,
    done: Annotated[str, Query(max_length=40)] = "",
    device: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    message = MESSAGES.get(done)
    if message and DEVICE_ID_PATTERN.fullmatch(device):
        message = f"{device}: {message}"
    return await _devices_page(request, context, session, message=message)


@router.post("/devices")
async def add_device(
    request: Request,
    context: Context,
    session: PostSession,
    name: DeviceName = "",
    pull_url: PullUrlField = "",
) -> Response:
    try:
        async with context.require_pool().connection() as conn, conn.transaction():
            new = await devices.add_device(conn, name.strip())
            if pull_url.strip():
                shown = await pulls.set_pull(conn, new.device_id, pull_url)
                log.info("action=device_pulled device=%s url=%s", new.device_id, shown)
    except ShelfcamError as err:
        return await _devices_page(
            request, context, session, error=err.detail, status_code=err.status, new_name=name
        )
    log.info("action=device_added device=%s user=%s", new.device_id, session.username)
    values = {
        "session": session,
        "device_id": new.device_id,
        "token": new.token,
        "rotated": False,
        "ingest_url": ingest_url(request),
    }
    return render(request, "device_token.html", values)


def not_found_page(request: Request, session: admins.Session, err: NotFound) -> Response:
    values = {"session": session, "title": "Device not found", "message": err.detail}
    return render(request, "error.html", values, status_code=404)


async def _confirm(
    request: Request, context: AppContext, session: admins.Session, name: str, action: str
) -> Response:
    try:
        async with context.require_pool().connection() as conn:
            device = await devices.get_device(conn, name)
    except NotFound as err:
        return not_found_page(request, session, err)
    values = {"session": session, "device": device, "action": action}
    return render(request, "device_confirm.html", values)


@router.get("/devices/{device_id}/rotate")
async def rotate_confirm(
    request: Request, context: Context, session: PageSession, device_id: str
) -> Response:
    return await _confirm(request, context, session, device_id, "rotate")


@router.post("/devices/{device_id}/rotate")
async def rotate(
    request: Request, context: Context, session: PostSession, device_id: str
) -> Response:
    async with context.require_pool().connection() as conn:
        new = await devices.rotate_token(conn, device_id)
    context.forget_device_tokens(new.device_id)
    log.info("action=device_token_rotated device=%s user=%s", new.device_id, session.username)
    values = {
        "session": session,
        "device_id": new.device_id,
        "token": new.token,
        "rotated": True,
        "ingest_url": ingest_url(request),
    }
    return render(request, "device_token.html", values)


@router.get("/devices/{device_id}/revoke")
async def revoke_confirm(
    request: Request, context: Context, session: PageSession, device_id: str
) -> Response:
    return await _confirm(request, context, session, device_id, "revoke")


@router.post("/devices/{device_id}/revoke")
async def revoke(context: Context, session: PostSession, device_id: str) -> Response:
    async with context.require_pool().connection() as conn:
        changed = await devices.revoke(conn, device_id)
    context.forget_device_tokens(device_id)
    log.info("action=device_revoked device=%s user=%s", device_id, session.username)
    return _done(device_id, "revoked" if changed else "already_revoked")


@router.post("/devices/{device_id}/mark-empty")
async def mark_empty(
    request: Request, context: Context, session: PostSession, device_id: str
) -> Response:
    try:
        async with context.require_pool().connection() as conn:
            source = await references.mark_empty(conn, context.store, device_id)
    except ShelfcamError as err:
        return await _devices_page(
            request, context, session, error=err.detail, status_code=err.status
        )
    log.info("action=empty_marked device=%s source=%s user=%s", device_id, source, session.username)
    return _done(device_id, "marked_empty")


@router.post("/devices/{device_id}/privacy")
async def privacy(
    context: Context,
    session: PostSession,
    device_id: str,
    privacy_blur: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    blur = privacy_blur == "on"
    async with context.require_pool().connection() as conn:
        version = await devices.set_config(conn, device_id, privacy_blur=blur)
    log.info(
        "action=device_privacy device=%s blur=%s roi_version=%d user=%s",
        device_id,
        blur,
        version,
        session.username,
    )
    return _done(device_id, "privacy_on" if blur else "privacy_off")


@router.post("/devices/{device_id}/pull")
async def set_pull(
    request: Request,
    context: Context,
    session: PostSession,
    device_id: str,
    pull_url: PullUrlField = "",
    pull_interval_ms: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Pull the camera from the URL given (an empty URL stops pulling it)."""
    try:
        async with context.require_pool().connection() as conn:
            await devices.get_device(conn, device_id)
            if not pull_url.strip():
                await pulls.clear_pull(conn, device_id)
                log.info("action=device_unpulled device=%s user=%s", device_id, session.username)
                return _done(device_id, "unpulled")
            interval = _interval(pull_interval_ms)
            shown = await pulls.set_pull(conn, device_id, pull_url, interval)
    except NotFound as err:
        return not_found_page(request, session, err)
    except ShelfcamError as err:
        return await _devices_page(
            request, context, session, error=f"{device_id}: {err.detail}", status_code=err.status
        )
    log.info("action=device_pulled device=%s url=%s user=%s", device_id, shown, session.username)
    return _done(device_id, "pulled")


def _interval(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError as err:
        raise InvalidInput("the pull interval must be a whole number of milliseconds") from err

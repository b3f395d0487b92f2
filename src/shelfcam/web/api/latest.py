"""``GET /api/v1/devices/{device_id}/latest.jpg``: a camera's newest frame, pushed or
pulled, for Home Assistant's generic camera and the ROI editor (docs/cameras.md).

The frame is the one this process's ingest last took (``Ingestor.latest``): held in
memory only, never written beyond the staging rules. With ``shelfcam serve`` that is
every frame (pushed or pulled); with several API processes, each serves the newest it
took itself, and a separate ``shelfcam puller``'s frames are not among them. When the
camera's privacy blur is on, everything outside its inventory ROI is blurred first.

It takes a session or an admin token, as ``Authorization: Bearer`` or as the password
of Basic auth (Home Assistant's generic camera speaks only Basic and Digest).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials, HTTPBearer

from shelfcam import devices
from shelfcam.accounts import admins
from shelfcam.analysis.eventframes import privacy_copy
from shelfcam.errors import NotFound, Unauthorized
from shelfcam.vision import polygons
from shelfcam.web.api.common import UNAUTHORIZED, Context, error
from shelfcam.web.api.devices import DeviceId
from shelfcam.web.auth import SESSION_COOKIE, Principal, require_api_principal

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

_basic = HTTPBasic(
    auto_error=False,
    description="An admin token as the password, any user name: for clients that only "
    "speak Basic, such as Home Assistant's generic camera",
)
_bearer = HTTPBearer(auto_error=False)


async def require_viewer(
    request: Request,
    context: Context,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Principal:
    """As every read of the API (a session or ``Authorization: Bearer``), and also an
    admin token sent as a Basic password (never a device token)."""
    if basic is None:
        bearer = await _bearer(request)
        return await require_api_principal(context, bearer, request.cookies.get(SESSION_COOKIE))
    async with context.require_pool().connection() as conn:
        name = await admins.token_owner(conn, basic.password)
    if name is None:
        raise Unauthorized(
            "the admin token (the Basic password) is not valid",
            headers={"WWW-Authenticate": 'Basic realm="shelfcam"'},
        )
    return Principal("token", name)


Viewer = Annotated[Principal, Depends(require_viewer)]


class NoFrameYet(NotFound):
    code = "no_frame_yet"


@router.get(
    "/{device_id}/latest.jpg",
    summary="The camera's newest frame (memory only; blurred where its blur is on)",
    response_class=Response,
    responses={
        **UNAUTHORIZED,
        200: {"content": {"image/jpeg": {}}, "description": "The JPEG"},
        404: error("No such device (not_found), or no frame from it yet (no_frame_yet)"),
    },
)
async def latest_jpeg(context: Context, auth: Viewer, device_id: DeviceId) -> Response:
    async with context.require_pool().connection() as conn:
        device = await devices.get_device(conn, device_id)
    latest = context.require_ingestor().latest.get(device_id)
    if latest is None:
        raise NoFrameYet(
            f"no frame from {device_id!r} has reached this process since it started "
            "(a pulled camera: is the puller running here? see docs/cameras.md)"
        )
    data = latest.jpeg
    if device["privacy_blur"]:
        roi = polygons.from_json(device["inventory_roi"], "inventory_roi")
        data = await anyio.to_thread.run_sync(privacy_copy, data, roi)
    age = (datetime.now(UTC) - latest.received_at).total_seconds()
    return Response(
        data,
        media_type="image/jpeg",
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Received-At": latest.received_at.isoformat(),
            "X-Frame-Age-Seconds": f"{max(age, 0):.1f}",
        },
    )

"""``GET /api/v1/devices/{device_id}/latest.jpg``: a camera's newest frame, pushed or
pulled, for Home Assistant's generic camera and the ROI editor (docs/cameras.md).

The frame is the one this process's ingest last took (``Ingestor.latest``): held in
memory only, never written beyond the staging rules. With ``shelfcam serve`` that is
every frame (pushed or pulled); with several API processes, each serves the newest it
took itself, and a separate ``shelfcam puller``'s frames are not among them. When the
camera's privacy blur is on, everything outside its inventory ROI is blurred first.
"""

from __future__ import annotations

from datetime import UTC, datetime

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import Response

from shelfcam import devices
from shelfcam.analysis.eventframes import privacy_copy
from shelfcam.errors import NotFound
from shelfcam.vision import polygons
from shelfcam.web.api.common import UNAUTHORIZED, Context, Reader, error
from shelfcam.web.api.devices import DeviceId

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


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
async def latest_jpeg(context: Context, auth: Reader, device_id: DeviceId) -> Response:
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

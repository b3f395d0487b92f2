"""Images: event images (looked up in event_images) and the ROI editor's snapshots, read
through the frame store.

The request names an event and a role, or a snapshot's capture, never a path: the file is
whichever URI the row holds, and the frame store checks that URI against its layout.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from shelfcam.activity import timeline
from shelfcam.devices import snapshots
from shelfcam.vocabulary import ImageRole
from shelfcam.web.api.common import UNAUTHORIZED, Context
from shelfcam.web.auth import require_api_principal
from shelfcam.web.schemas import ErrorBody

router = APIRouter(tags=["images"], dependencies=[Depends(require_api_principal)])


@router.get(
    "/images/{event_id}/{role}",
    summary="The JPEG of one event image",
    response_class=Response,
    responses={
        **UNAUTHORIZED,
        200: {"content": {"image/jpeg": {}}, "description": "The JPEG"},
        404: {"model": ErrorBody, "description": "No such event or image"},
        410: {"model": ErrorBody, "description": "Retention removed the image"},
    },
)
async def event_image(context: Context, event_id: uuid.UUID, role: ImageRole) -> Response:
    async with context.require_pool().connection() as conn:
        data = await timeline.image_bytes(conn, context.store, event_id, role)
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/snapshots/{capture_id}",
    summary="The JPEG of a snapshot (a debug frame the ROI editor asked for)",
    response_class=Response,
    responses={
        **UNAUTHORIZED,
        200: {"content": {"image/jpeg": {}}, "description": "The JPEG"},
        404: {"model": ErrorBody, "description": "No such snapshot"},
        410: {"model": ErrorBody, "description": "The snapshot was deleted"},
    },
)
async def snapshot_image(context: Context, capture_id: uuid.UUID) -> Response:
    async with context.require_pool().connection() as conn:
        data = await snapshots.snapshot_bytes(conn, context.store, capture_id)
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )

"""Event images: looked up in event_images, read through the frame store.

The request names an event and a role, never a path: the file is whichever URI the
event_images row holds, and the frame store checks that URI against its layout.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from shelfcam.activity import timeline
from shelfcam.web.api.events import UNAUTHORIZED
from shelfcam.web.auth import require_api_principal
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.schemas import ErrorBody, ImageRole

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
async def event_image(
    context: Annotated[AppContext, Depends(get_context)], event_id: uuid.UUID, role: ImageRole
) -> Response:
    async with context.require_pool().connection() as conn:
        data = await timeline.image_bytes(conn, context.store, event_id, role)
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )

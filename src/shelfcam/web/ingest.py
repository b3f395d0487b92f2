"""POST /api/v1/ingest/frame: the camera's only way in (see docs/api.md)."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shelfcam.errors import ShelfcamError
from shelfcam.ingest import body, metadata
from shelfcam.ingest.auth import authenticate_device
from shelfcam.ingest.jpeg import check_jpeg
from shelfcam.ingest.service import IngestResult
from shelfcam.web.context import AppContext, get_context

log = logging.getLogger(__name__)
router = APIRouter(tags=["ingest"])


class IngestResponse(BaseModel):
    capture_id: str = Field(description="The frame's id (the original one for a retry)")
    received_at: str = Field(description="Server time the frame was first received (RFC 3339)")
    duplicate: bool = Field(description="True when this upload repeated a frame already received")
    mode: str = Field(description="'burst' while an interaction is open, else 'idle'")
    next_interval_ms: int = Field(
        description="How long the camera should wait before the next frame"
    )
    burst_until: str | None = Field(description="End of the burst (RFC 3339), when bursting")
    snapshot_requested: bool = Field(
        description="True when the admin UI asked this camera for a full-resolution snapshot"
    )


class ErrorBody(BaseModel):
    error: str = Field(description="A short machine-readable code")
    detail: str = Field(description="What was wrong, for a person")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestResponse, "description": "A retry of a frame already received"},
    400: _error("Bad metadata or a malformed multipart body"),
    401: _error("Missing, unknown or revoked device token"),
    413: _error("The body is larger than SHELFCAM_MAX_FRAME_BYTES"),
    415: _error("The body (or its image part) is not a JPEG"),
    422: _error("A broken, truncated or absurdly large JPEG"),
    429: _error("The device sends faster than its rate limit (see Retry-After)"),
    503: _error("The database is unreachable (see Retry-After)"),
    507: _error("The data dir is nearly full"),
}

BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "image": {"type": "string", "format": "binary"},
                        "imageFile": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


def _render(result: IngestResult) -> dict[str, Any]:
    directive = result.directive
    return {
        "capture_id": str(result.capture_id),
        "received_at": result.received_at.isoformat(),
        "duplicate": result.duplicate,
        "mode": directive.mode,
        "next_interval_ms": directive.next_interval_ms,
        "burst_until": directive.burst_until.isoformat() if directive.burst_until else None,
        "snapshot_requested": directive.snapshot_requested,
    }


@router.post(
    "/api/v1/ingest/frame",
    status_code=201,
    response_model=IngestResponse,
    responses=RESPONSES,
    summary="Upload one JPEG frame from a camera",
    openapi_extra=BODY_DOC,
)
async def ingest_frame(
    request: Request,
    context: Annotated[AppContext, Depends(get_context)],
    seq: Annotated[str | None, Query(description="Frame number within this boot, >= 0")] = None,
    boot: Annotated[str | None, Query(description="Changes when the camera restarts")] = None,
    captured_at: Annotated[
        str | None, Query(description="Camera time: RFC 3339 or epoch milliseconds")
    ] = None,
    rssi: Annotated[str | None, Query(description="Wi-Fi signal (dBm)")] = None,
    heap: Annotated[str | None, Query(description="Free heap (bytes)")] = None,
    uptime: Annotated[str | None, Query(description="Camera uptime (ms)")] = None,
    firmware: Annotated[str | None, Query(description="Firmware version")] = None,
    x_device_seq: Annotated[str | None, Header(description="Same as seq")] = None,
    x_boot_id: Annotated[str | None, Header(description="Same as boot")] = None,
    x_captured_at: Annotated[str | None, Header(description="Same as captured_at")] = None,
    authorization: Annotated[str | None, Header(description="Bearer <device token>")] = None,
    x_api_key: Annotated[str | None, Header(description="<device token>")] = None,
) -> JSONResponse:
    started = time.perf_counter()
    metrics = context.metrics
    device = "unknown"
    ingestor = context.require_ingestor()
    try:
        device = await authenticate_device(ingestor.pool, request.headers)
        ingestor.admit(device)
        meta = metadata.parse_meta(request.query_params, request.headers)
        raw = await body.read_limited(
            request.stream(),
            request.headers.get("content-length"),
            context.settings.max_frame_bytes,
        )
        jpeg = body.extract_jpeg(request.headers.get("content-type"), raw)
        info = check_jpeg(jpeg)
        result = await ingestor.ingest(device, meta, jpeg, info)
    except ShelfcamError as err:
        metrics.errors.labels(device, err.code).inc()
        log.info("action=frame_refused device=%s status=%d code=%s", device, err.status, err.code)
        raise
    metrics.latency.labels(device).observe(time.perf_counter() - started)
    if result.duplicate:
        metrics.duplicates.labels(device).inc()
        return JSONResponse(_render(result), status_code=200)
    metrics.frames.labels(device).inc()
    metrics.bytes.labels(device).inc(len(jpeg))
    log.debug(
        "action=frame_ingested device=%s capture_id=%s bytes=%d",
        device,
        result.capture_id,
        len(jpeg),
    )
    return JSONResponse(_render(result), status_code=201)

"""POST /api/v1/ingest/frame: the camera's only way in (see docs/api.md)."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from shelfcam.errors import ShelfcamError
from shelfcam.ingest import body, metadata
from shelfcam.ingest.jpeg import check_jpeg
from shelfcam.ingest.service import IngestResult
from shelfcam.web.context import AppContext

log = logging.getLogger(__name__)
router = APIRouter(tags=["ingest"])

DISCONNECTED = "client_disconnected"
"""The ``code`` label of shelfcam_ingest_errors for an upload the camera abandoned."""


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
        description="True when the admin UI had asked this camera for a snapshot: this new "
        "frame was also kept as it (under debug/, for the ROI editor) and the request cleared"
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
    408: _error("The headers or the body took too long to arrive (the connection closes)"),
    503: _error(
        "The database or the object store is unreachable, or the server is busy (out of "
        "open files or connections); see Retry-After"
    ),
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


def _parameter(name: str, where: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": False,
        "description": description,
        "schema": schema,
    }


def _integer(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


# The schemas say what shelfcam.ingest.metadata accepts (anything else: 400 bad_metadata).
SEQ = _integer(0, metadata.MAX_SEQ)
BOOT = {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"}
CAPTURED_AT = {
    "type": "string",
    "pattern": metadata.CAPTURED_AT_PATTERN,
    "description": f"RFC 3339 with a time zone, or epoch milliseconds up to "
    f"{metadata.MAX_EPOCH_MS}",
}
FIRMWARE = {"type": "string", "pattern": "^[ -~]{1,64}$"}
PARAMETERS = [
    _parameter("seq", "query", "Frame number within this boot, an integer >= 0", SEQ),
    _parameter(
        "boot", "query", "Changes when the camera restarts (1-64 of A-Z a-z 0-9 . _ : -)", BOOT
    ),
    _parameter("captured_at", "query", "Camera time: RFC 3339 or epoch milliseconds", CAPTURED_AT),
    _parameter("rssi", "query", "Wi-Fi signal in dBm (kept in captures.meta)", _integer(-150, 20)),
    _parameter("heap", "query", "Free heap in bytes (kept in captures.meta)", _integer(0, 2**40)),
    _parameter(
        "uptime", "query", "Camera uptime in ms (kept in captures.meta)", _integer(0, 2**53)
    ),
    _parameter("firmware", "query", "Firmware version (kept in captures.meta)", FIRMWARE),
    _parameter("X-Device-Seq", "header", "Same as seq", SEQ),
    _parameter("X-Boot-Id", "header", "Same as boot", BOOT),
    _parameter("X-Captured-At", "header", "Same as captured_at", CAPTURED_AT),
    _parameter("Authorization", "header", "Bearer <device token>", {"type": "string"}),
    _parameter(
        "X-API-Key", "header", "<device token> (instead of Authorization)", {"type": "string"}
    ),
]


@router.post(
    "/api/v1/ingest/frame",
    status_code=201,
    response_model=IngestResponse,
    responses=RESPONSES,
    summary="Upload one JPEG frame from a camera",
    openapi_extra={**BODY_DOC, "parameters": PARAMETERS},
)
async def ingest_frame(request: Request) -> Response:
    # Parameters are read from the request directly (and documented above): FastAPI's
    # per-parameter machinery costs more than the rest of this handler.
    context: AppContext = request.app.state.context
    started = time.perf_counter()
    metrics = context.metrics
    device = "unknown"
    ingestor = context.require_ingestor()
    try:
        device = await ingestor.auth.device_for(request.headers)
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
    except ClientDisconnect:
        # The camera went away mid-upload (flaky Wi-Fi does this all day): nothing was
        # stored, nobody is left to answer. Counted, and one line, not an error.
        metrics.errors.labels(device, DISCONNECTED).inc()
        log.info("action=frame_abandoned device=%s reason=client_disconnected", device)
        return Response(status_code=400)
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

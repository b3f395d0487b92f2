"""The JSON API for cameras: the list, one device with its status, and the changes the
devices page and the ROI editor make. Reads accept a session or an admin token; every
POST needs an admin token, or a session with its CSRF token in ``X-CSRF-Token``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path

from shelfcam import devices
from shelfcam.devices import overview, references
from shelfcam.vision import polygons
from shelfcam.web.api.common import DEVICE_ID_REGEX, UNAUTHORIZED, Context, Reader, Writer, error
from shelfcam.web.schemas import (
    ConfigIn,
    DeviceDetailOut,
    DeviceListOut,
    DeviceOut,
    DeviceStatusOut,
    DeviceTokenOut,
    HealthOut,
    MarkEmptyOut,
    NewDeviceIn,
    SnapshotOut,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/devices", tags=["devices"], responses=UNAUTHORIZED)

DeviceId = Annotated[str, Path(pattern=DEVICE_ID_REGEX, description="The device's name")]


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: error("No such device")}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error("A value is refused (bad polygon, unknown or invalid threshold)"),
    403: error("A session without its CSRF token (X-CSRF-Token)"),
}


def detail_out(status: overview.DeviceStatus) -> DeviceDetailOut:
    h = status.health
    return DeviceDetailOut(
        **DeviceOut.model_validate(status.device).model_dump(),
        status=DeviceStatusOut(
            state=status.state,
            frames_per_minute=status.frames_per_minute,
            queue_depth=status.queue_depth,
            queue_oldest=status.queue_oldest,
            last_error=status.last_error,
            last_error_at=status.last_error_at,
            health=HealthOut(
                rssi_dbm=h.rssi_dbm,
                heap_bytes=h.heap_bytes,
                uptime_ms=h.uptime_ms,
                firmware=h.firmware,
                reported_at=h.reported_at,
            ),
            snapshot_requested_at=status.snapshot_requested_at,
            empty_reference_at=status.empty_reference_at,
        ),
        effective_thresholds=None
        if status.thresholds is None
        else {k: float(v) for k, v in status.thresholds.to_dict().items()},
    )


@router.get("", summary="List cameras (never their tokens)")
async def list_devices(context: Context, auth: Reader) -> DeviceListOut:
    async with context.require_pool().connection() as conn:
        rows = await devices.list_devices(conn)
    return DeviceListOut(devices=[DeviceOut.model_validate(row) for row in rows])


@router.get(
    "/{device_id}", summary="One camera: configuration, status and health", responses=NOT_FOUND
)
async def get_device(context: Context, auth: Reader, device_id: DeviceId) -> DeviceDetailOut:
    async with context.require_pool().connection() as conn:
        status = await overview.status_of(conn, device_id, datetime.now(UTC))
    return detail_out(status)


@router.post(
    "",
    status_code=201,
    summary="Add a camera; its token is in this answer only",
    responses={**WRITE_ERRORS, 409: error("The name is taken")},
)
async def add_device(context: Context, auth: Writer, body: NewDeviceIn) -> DeviceTokenOut:
    interaction = polygons.from_json(body.interaction_roi or polygons.to_json(polygons.FULL_FRAME))
    inventory = polygons.from_json(body.inventory_roi or polygons.to_json(polygons.FULL_FRAME))
    async with context.require_pool().connection() as conn:
        new = await devices.add_device(conn, body.device_id, interaction, inventory)
    log.info("action=device_added device=%s by=%s", new.device_id, auth.name)
    return DeviceTokenOut(device_id=new.device_id, token=new.token)


@router.post(
    "/{device_id}/config",
    summary="Change ROIs, thresholds or the privacy option: a new roi_version",
    responses={**WRITE_ERRORS, **NOT_FOUND},
)
async def set_config(
    context: Context, auth: Writer, device_id: DeviceId, body: ConfigIn
) -> DeviceOut:
    interaction = (
        None
        if body.interaction_roi is None
        else polygons.from_json(body.interaction_roi, "interaction_roi")
    )
    inventory = (
        None
        if body.inventory_roi is None
        else polygons.from_json(body.inventory_roi, "inventory_roi")
    )
    async with context.require_pool().connection() as conn:
        version = await devices.set_config(
            conn,
            device_id,
            interaction_roi=interaction,
            inventory_roi=inventory,
            thresholds=body.thresholds,
            privacy_blur=body.privacy_blur,
        )
        device = await devices.get_device(conn, device_id)
    log.info("action=device_config device=%s roi_version=%d by=%s", device_id, version, auth.name)
    return DeviceOut.model_validate(device)


@router.post(
    "/{device_id}/token",
    summary="Rotate the token: the new one is in this answer only; the old one stops working",
    responses={**WRITE_ERRORS, **NOT_FOUND},
)
async def rotate_token(context: Context, auth: Writer, device_id: DeviceId) -> DeviceTokenOut:
    async with context.require_pool().connection() as conn:
        new = await devices.rotate_token(conn, device_id)
    context.forget_device_tokens(new.device_id)
    log.info("action=device_token_rotated device=%s by=%s", new.device_id, auth.name)
    return DeviceTokenOut(device_id=new.device_id, token=new.token)


@router.post(
    "/{device_id}/revoke",
    summary="Refuse the camera's token from now on",
    responses={**WRITE_ERRORS, **NOT_FOUND},
)
async def revoke(context: Context, auth: Writer, device_id: DeviceId) -> DeviceOut:
    async with context.require_pool().connection() as conn:
        await devices.revoke(conn, device_id)
        device = await devices.get_device(conn, device_id)
    context.forget_device_tokens(device_id)
    log.info("action=device_revoked device=%s by=%s", device_id, auth.name)
    return DeviceOut.model_validate(device)


@router.post(
    "/{device_id}/snapshot",
    status_code=202,
    summary="Ask the camera for a snapshot: its next frame is kept for the ROI editor",
    responses={**WRITE_ERRORS, **NOT_FOUND},
)
async def request_snapshot(context: Context, auth: Writer, device_id: DeviceId) -> SnapshotOut:
    async with context.require_pool().connection() as conn:
        await devices.request_snapshot(conn, device_id)
        status = await overview.status_of(conn, device_id, datetime.now(UTC))
    log.info("action=snapshot_requested device=%s by=%s", device_id, auth.name)
    return SnapshotOut(device_id=device_id, snapshot_requested_at=status.snapshot_requested_at)


@router.post(
    "/{device_id}/mark-empty",
    summary="The camera's latest stable frame becomes its empty-shelf reference",
    responses={**WRITE_ERRORS, **NOT_FOUND},
)
async def mark_empty(context: Context, auth: Writer, device_id: DeviceId) -> MarkEmptyOut:
    async with context.require_pool().connection() as conn:
        source = await references.mark_empty(conn, context.store, device_id)
    log.info("action=empty_marked device=%s source=%s by=%s", device_id, source, auth.name)
    return MarkEmptyOut(device_id=device_id, source=source)

"""The JSON API for tuning: what proposed thresholds would change on a camera's recent
events and frames (the tuning page's preview; it saves nothing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from shelfcam.tuning import evidence, judge
from shelfcam.web.api.common import DEVICE_ID_REGEX, UNAUTHORIZED, Context, Writer, error
from shelfcam.web.schemas import (
    CrossingOut,
    OutcomeOut,
    PreviewIn,
    PreviewOut,
    ThresholdChangeOut,
)

router = APIRouter(prefix="/api/v1/devices", tags=["devices"], responses=UNAUTHORIZED)
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_REGEX, description="The device's name")]


def preview_out(preview: judge.Preview) -> PreviewOut:
    return PreviewOut(
        current={k: float(v) for k, v in preview.current.to_dict().items()},
        proposed={k: float(v) for k, v in preview.proposed.to_dict().items()},
        changed_thresholds=[
            ThresholdChangeOut(name=name, current=old, proposed=new)
            for name, old, new in preview.changed_thresholds
        ],
        changes=[
            OutcomeOut(
                event_id=o.event_id,
                event_type=o.event_type,
                started_at=o.started_at,
                question=o.question,
                score_name=o.score_name,
                score=o.score,
                rescored=o.rescored,
                threshold_name=o.threshold_name,
                current=o.current,
                proposed=o.proposed,
                change=o.change,
            )
            for o in preview.changes
        ],
        frames=[
            CrossingOut(
                score=c.rule.score,
                threshold=c.rule.threshold,
                frames=c.frames,
                current=c.current,
                proposed=c.proposed,
                at_or_above_now=c.at_or_above_now,
                at_or_above_then=c.at_or_above_then,
                newly_firing=c.newly_firing,
                no_longer_firing=c.no_longer_firing,
                near_misses=c.near_misses,
            )
            for c in preview.crossings
        ],
        events_considered=preview.events_considered,
        events_rescored=preview.events_rescored,
    )


@router.post(
    "/{device_id}/tuning/preview",
    summary="What proposed thresholds would change on recent events and frames (saves nothing)",
    responses={
        400: error("An unknown or invalid threshold"),
        403: error("A session without its CSRF token (X-CSRF-Token)"),
        404: error("No such device"),
    },
)
async def tuning_preview(
    context: Context, auth: Writer, device_id: DeviceId, body: PreviewIn
) -> PreviewOut:
    proposed = evidence.proposed_thresholds(body.thresholds)
    async with context.require_pool().connection() as conn:
        found = await evidence.gather(conn, context.store, device_id, context.rescore_cache)
    return preview_out(judge.preview(found.events, found.frames, found.current, proposed))

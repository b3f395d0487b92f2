"""Run a labelled scenario through vision and the engine in memory (no database, no HTTP).

The same bookkeeping as the worker, minus persistence: keep the frames the engine still
references, take the scene reference when asked. Used by tests and for quick tuning; the
evaluation of record (`shelfcam eval`) goes through the real pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shelfcam.analysis.pipeline import decide
from shelfcam.engine import EngineConfig, EngineState, EventEnd, NewEvent
from shelfcam.vision import Frame, Rois, frame_from_jpeg
from shelfcam.vision.scores import FrameScores


@dataclass
class OfflineResult:
    events: list[NewEvent]
    ended: list[EventEnd]
    scores: list[FrameScores]
    traces: list[tuple[str, ...]]


EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def run_frames(
    frames: Iterable[tuple[float, bytes]],
    rois: Rois,
    config: EngineConfig,
    empty_reference: bytes | None = None,
    start: datetime = EPOCH,
) -> OfflineResult:
    """``frames``: (milliseconds from start, JPEG bytes) in order."""
    state = EngineState()
    kept: dict[str, Frame] = {}
    reference: Frame | None = None
    empty_ref = frame_from_jpeg(empty_reference) if empty_reference else None
    result = OfflineResult([], [], [], [])
    for index, (ms, data) in enumerate(frames):
        capture_id = f"f{index:06d}"
        cur = frame_from_jpeg(data)
        scores, out = decide(
            cur,
            capture_id,
            start + timedelta(milliseconds=ms),
            state,
            kept,
            reference=reference,
            empty_ref=empty_ref,
            rois=rois,
            config=config,
        )
        state = out.state
        if out.take_reference:
            reference = cur
        kept[capture_id] = cur
        needed = state.referenced_captures()
        kept = {k: v for k, v in kept.items() if k in needed}
        result.events.extend(out.events)
        result.ended.extend(out.ended)
        result.scores.append(scores)
        result.traces.append(out.trace)
    return result

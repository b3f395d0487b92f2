"""One frame through vision and the engine, given the frames the engine still refers to.

Pure (numpy arrays and values in, a Step out): the worker and the in-memory scene runner
both call it, so a frame is judged the same way wherever it is analyzed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shelfcam.engine import EngineConfig, EngineState, Observation, Step, step
from shelfcam.vision import Frame, Region, Rois, analyze
from shelfcam.vision.scores import FrameScores


def decide(
    cur: Frame,
    capture_id: str,
    t: datetime,
    state: EngineState,
    kept: Mapping[str, Frame],
    *,
    reference: Frame | None,
    empty_ref: Frame | None,
    rois: Rois,
    config: EngineConfig,
) -> tuple[FrameScores, Step]:
    """Score ``cur`` against the previous frame, the baseline (with its patches), the
    frame a watched change is compared with and the references, and step the engine.
    ``kept`` maps capture ids to decoded frames (missing ones count as absent)."""
    patches = [
        (frame, Region(**p.box))
        for p in state.patches
        if (frame := kept.get(p.mark.capture_id)) is not None
    ]
    scores = analyze(
        cur,
        prev=kept.get(state.prev_capture_id or ""),
        baseline=kept.get(state.baseline.capture_id) if state.baseline else None,
        reference=reference,
        empty_ref=empty_ref,
        rois=rois,
        patches=patches,
        anchors=[kept.get(capture_id) for capture_id in state.anchors()],
        shift_gate=(config.thresholds.shift_threshold_px, config.thresholds.shift_min_confidence),
        still=config.thresholds.stable_frame_change,
    )
    return scores, step(state, Observation(capture_id, t, scores), config)

"""One frame through vision and the engine, given the frames the engine still refers to.

Pure (numpy arrays and values in, a Step out): the worker and the in-memory scene runner
both call it, so a frame is judged the same way wherever it is analysed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from shelfcam.engine import EngineConfig, EngineState, HeldComparison, Observation, Step, step
from shelfcam.vision import Frame, Rois, analyze, inventory_delta
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
    """Score ``cur`` against the previous frame, the baseline and the references, and step
    the engine. ``kept`` maps capture ids to decoded frames (missing ones count as absent)."""
    scores = analyze(
        cur,
        prev=kept.get(state.prev_capture_id or ""),
        baseline=kept.get(state.baseline.capture_id) if state.baseline else None,
        reference=reference,
        empty_ref=empty_ref,
        rois=rois,
    )
    held = None
    held_frame = kept.get(state.held_capture() or "")
    if held_frame is not None and held_frame.gray.shape == cur.gray.shape:
        compared = inventory_delta(held_frame, cur, rois.inventory)
        held = HeldComparison(compared.score, compared.regions)
    return scores, step(state, Observation(capture_id, t, scores, held), config)

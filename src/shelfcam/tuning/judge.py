"""Tuning from evidence: recent scores against thresholds, and what proposed thresholds
would change. Pure-ish: vision calls on bytes the caller read, no database or files.

* ``RULES``: which score each firing threshold judges (``motion`` against
  ``interaction_threshold``, ``inventory_delta`` against ``inventory_change_threshold``...).
* ``rescore(pre, post, rois)``: an event's retained pre and post frames compared again with
  ``shelfcam.vision.analyze`` under the device's current ROIs.
* ``preview(events, frames, current, proposed)``: which recent events would change outcome,
  and how many recent frames would newly cross (or no longer cross) each threshold.
* ``histogram(values, thresholds)``: the distribution drawn on the tuning page.

The preview judges thresholds one score at a time. The engine also needs a stable view,
a change that persists, no lighting change, enough of the ROI judged...: an outcome marked
here as "would fire" is a candidate, not a promise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from shelfcam.engine.config import Thresholds
from shelfcam.engine.decisions import JUDGED_AGAINST
from shelfcam.vision import Rois, analyze, frame_from_jpeg


@dataclass(frozen=True)
class ScoreRule:
    score: str
    """The score's key in ``captures.meta.scores`` (per frame)."""
    label: str
    event_type: str
    event_score: str
    """The score's key in the event's ``details.scores``."""

    @property
    def threshold(self) -> str:
        """The threshold (a ``Thresholds`` field) the score is judged against: fires at or
        above. The engine's own pairing, ``JUDGED_AGAINST``."""
        return JUDGED_AGAINST[self.score]


RULES: tuple[ScoreRule, ...] = (
    ScoreRule("motion", "Motion in the interaction ROI", "interaction_detected", "motion_peak"),
    ScoreRule(
        "inventory_delta",
        "Inventory change against the baseline",
        "stock_changed",
        "inventory_delta",
    ),
    ScoreRule("lighting_score", "Lighting change (never stock)", "", "lighting_score"),
    ScoreRule("obstruction", "Obstruction", "camera_obstructed", "obstruction"),
    ScoreRule("shift_px", "Scene shift (analysis px)", "scene_shifted", "shift_px"),
    ScoreRule(
        "empty_similarity", "Similarity to the empty shelf", "empty_confirmed", "empty_similarity"
    ),
)
RULE_BY_SCORE = {rule.score: rule for rule in RULES}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def rescore(pre_jpeg: bytes, post_jpeg: bytes, rois: Rois) -> dict[str, float | None]:
    """An event's post frame against its pre frame (the baseline), under ``rois``."""
    pre = frame_from_jpeg(pre_jpeg)
    post = frame_from_jpeg(post_jpeg)
    scores = analyze(post, prev=None, baseline=pre, reference=None, empty_ref=None, rois=rois)
    return {
        "inventory_delta": None
        if scores.inventory_delta is None
        else round(scores.inventory_delta, 4),
        "inventory_judged": None
        if scores.inventory_judged is None
        else round(scores.inventory_judged, 4),
    }


@dataclass(frozen=True)
class RecentEvent:
    """An event as the preview sees it: recorded scores, and the rescored ones (if its
    pre and post frames were still on disk)."""

    event_id: str
    event_type: str
    started_at: datetime
    scores: dict[str, Any]
    rescored: dict[str, float | None] | None = None


Change = Literal["kept", "dropped", "added", "still_off"]


@dataclass(frozen=True)
class Outcome:
    event_id: str
    event_type: str
    started_at: datetime
    question: str
    """What is judged, for people: "stock changed", "interaction", "also a stock change"."""
    score_name: str
    score: float | None
    rescored: bool
    """True when the score was computed again from the retained frames."""
    threshold_name: str
    current: float
    proposed: float
    now: bool | None
    then: bool | None
    candidate: bool = False
    """A question the engine did not decide by this threshold alone (an interaction that
    might also be a stock change): only a new "yes" is a change worth showing."""

    @property
    def change(self) -> Change:
        if self.now and self.then:
            return "kept"
        if self.now and self.then is False:
            return "dropped"
        if self.now is False and self.then:
            return "added"
        return "still_off"

    @property
    def changed(self) -> bool:
        if self.candidate:
            return self.change == "added"
        return self.change in ("dropped", "added")


@dataclass(frozen=True)
class Crossing:
    """How the recent frames sit against one threshold, now and as proposed."""

    rule: ScoreRule
    frames: int
    """Frames with this score."""
    current: float
    proposed: float
    at_or_above_now: int
    at_or_above_then: int
    near_misses: int
    """Frames below the current threshold but within 50 % of it."""

    @property
    def newly_firing(self) -> int:
        return max(0, self.at_or_above_then - self.at_or_above_now)

    @property
    def no_longer_firing(self) -> int:
        return max(0, self.at_or_above_now - self.at_or_above_then)


@dataclass(frozen=True)
class Preview:
    current: Thresholds
    proposed: Thresholds
    changed_thresholds: list[tuple[str, float, float]]
    outcomes: list[Outcome]
    crossings: list[Crossing]
    events_considered: int
    events_rescored: int

    @property
    def changes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.changed]


def _judge(score: float | None, threshold: float) -> bool | None:
    return None if score is None else score >= threshold


def _outcome(
    event: RecentEvent,
    question: str,
    score_name: str,
    score: float | None,
    rescored: bool,
    threshold: str,
    current: Thresholds,
    proposed: Thresholds,
    *,
    candidate: bool = False,
) -> Outcome:
    now_t = float(getattr(current, threshold))
    then_t = float(getattr(proposed, threshold))
    return Outcome(
        event_id=event.event_id,
        event_type=event.event_type,
        started_at=event.started_at,
        question=question,
        score_name=score_name,
        score=score,
        rescored=rescored,
        threshold_name=threshold,
        current=now_t,
        proposed=then_t,
        now=_judge(score, now_t),
        then=_judge(score, then_t),
        candidate=candidate,
    )


def event_outcomes(event: RecentEvent, current: Thresholds, proposed: Thresholds) -> list[Outcome]:
    """The thresholds that decide this event, judged with current and proposed values.

    A stock change is judged on its inventory delta (rescored from the retained frames
    when possible, so a new inventory ROI counts); an interaction on its recorded motion
    peak, and also whether its frames would now count as a stock change."""
    found: list[Outcome] = []
    delta = event.rescored.get("inventory_delta") if event.rescored else None
    recorded_delta = _number(event.scores.get("inventory_delta"))
    for rule in RULES:
        if rule.event_type != event.event_type:
            continue
        if rule.score == "inventory_delta":
            score, again = (delta, True) if delta is not None else (recorded_delta, False)
        else:
            score, again = _number(event.scores.get(rule.event_score)), False
        found.append(
            _outcome(
                event, rule.label, rule.event_score, score, again, rule.threshold, current, proposed
            )
        )
    if event.event_type == "interaction_detected" and delta is not None:
        found.append(
            _outcome(
                event,
                "Also a stock change",
                "inventory_delta",
                delta,
                True,
                "inventory_change_threshold",
                current,
                proposed,
                candidate=True,
            )
        )
    return found


def frame_values(frames: list[dict[str, Any]], score: str) -> list[float]:
    values = []
    for scores in frames:
        value = _number(scores.get(score))
        if value is not None:
            values.append(value)
    return values


def crossing(
    rule: ScoreRule, values: list[float], current: Thresholds, proposed: Thresholds
) -> Crossing:
    now_t = float(getattr(current, rule.threshold))
    then_t = float(getattr(proposed, rule.threshold))
    return Crossing(
        rule=rule,
        frames=len(values),
        current=now_t,
        proposed=then_t,
        at_or_above_now=sum(1 for v in values if v >= now_t),
        at_or_above_then=sum(1 for v in values if v >= then_t),
        near_misses=sum(1 for v in values if now_t * 0.5 <= v < now_t),
    )


def preview(
    events: list[RecentEvent],
    frames: list[dict[str, Any]],
    current: Thresholds,
    proposed: Thresholds,
) -> Preview:
    """What ``proposed`` would change against ``current`` on recent evidence."""
    changed = [
        (name, float(getattr(current, name)), float(getattr(proposed, name)))
        for name in Thresholds.names()
        if getattr(current, name) != getattr(proposed, name)
    ]
    outcomes = [o for event in events for o in event_outcomes(event, current, proposed)]
    crossings = [
        crossing(rule, frame_values(frames, rule.score), current, proposed) for rule in RULES
    ]
    return Preview(
        current=current,
        proposed=proposed,
        changed_thresholds=changed,
        outcomes=outcomes,
        crossings=crossings,
        events_considered=len(events),
        events_rescored=sum(1 for e in events if e.rescored is not None),
    )


@dataclass(frozen=True)
class Histogram:
    """Frame counts in ``len(counts)`` equal bins from 0 to ``top``; the last bin also
    holds every value above ``top``."""

    rule: ScoreRule
    counts: list[int]
    top: float
    clipped: int
    """Values above ``top``, counted in the last bin."""
    total: int
    current: float
    proposed: float
    event_marks: list[tuple[float, str]]
    """Recorded scores of recent events (value, event type), drawn as marks."""

    @property
    def bin_width(self) -> float:
        return self.top / len(self.counts)


UNIT_SCORES = {"motion", "inventory_delta", "lighting_score", "obstruction", "empty_similarity"}


def histogram(
    rule: ScoreRule,
    values: list[float],
    current: float,
    proposed: float,
    event_marks: list[tuple[float, str]],
    bins: int = 30,
) -> Histogram:
    """Bins from 0 to 4x the larger threshold (at most 1 for scores on a 0..1 scale), so
    the thresholds sit where the detail is; larger values are counted in the last bin."""
    top = max(4 * max(current, proposed), 1e-6)
    if rule.score in UNIT_SCORES:
        top = min(top, 1.0)
    counts = [0] * bins
    clipped = 0
    for value in values:
        index = max(0, int(value / top * bins))
        if index >= bins:
            index = bins - 1
            if value > top:
                clipped += 1
        counts[index] += 1
    return Histogram(rule, counts, top, clipped, len(values), current, proposed, event_marks)

"""An event's explanation, from its ``details`` JSON: what the event page shows.

Pure and forgiving: the worker's ``details`` follow the documented shape
(docs/architecture.md, "Interfaces"), but not every event
type has every key, and older events may lack newer keys. Each score is shown against the
threshold the engine judged it with (`shelfcam.engine.decisions.JUDGED_AGAINST`), when the
event recorded that threshold, and otherwise alone; thresholds no score was judged with are
listed on their own. Nothing is paired by its name's likeness.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shelfcam.engine.decisions import JUDGED_AGAINST
from shelfcam.vision.roi import Region


@dataclass(frozen=True)
class ScoreBar:
    """One score drawn as a bar from 0 to ``scale``, with its threshold as a mark."""

    name: str
    value: float | None
    shown: str
    threshold_name: str | None
    threshold: float | None
    scale: float

    @property
    def exceeded(self) -> bool | None:
        if self.value is None or self.threshold is None:
            return None
        return self.value >= self.threshold

    @property
    def value_percent(self) -> float:
        return _percent(self.value, self.scale)

    @property
    def threshold_percent(self) -> float | None:
        return None if self.threshold is None else _percent(self.threshold, self.scale)


@dataclass(frozen=True)
class Explanation:
    roi_version: str | None
    bars: list[ScoreBar]
    lone_thresholds: list[tuple[str, str]]
    trace: list[str]
    baseline_age_seconds: float | None
    baseline_stability_frames: str | None
    baseline_other: list[tuple[str, str]]
    regions: list[Region]
    captures: list[tuple[str, str]]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _percent(value: float | None, scale: float) -> float:
    if value is None or scale <= 0:
        return 0.0
    return round(min(100.0, max(0.0, 100.0 * value / scale)), 2)


def _text(value: object) -> str:
    number = _number(value)
    if number is not None:
        return f"{number:.4g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ": "), sort_keys=True, default=str)


def pair_thresholds(
    scores: Mapping[str, object], thresholds: Mapping[str, object]
) -> dict[str, str]:
    """Score name -> the threshold it was judged against, for the scores whose threshold
    the event recorded. Two scores may share one (``motion``, ``motion_peak``)."""
    return {
        score: JUDGED_AGAINST[score]
        for score in scores
        if score in JUDGED_AGAINST and JUDGED_AGAINST[score] in thresholds
    }


def _bars(scores: Mapping[str, object], thresholds: Mapping[str, object]) -> list[ScoreBar]:
    pairs = pair_thresholds(scores, thresholds)
    bars = []
    for name in sorted(scores, key=lambda n: (n not in pairs, n)):
        value = _number(scores[name])
        threshold_name = pairs.get(name)
        threshold = _number(thresholds[threshold_name]) if threshold_name else None
        top = max(v for v in (value, threshold, 0.0) if v is not None)
        scale = 1.0 if top <= 1.0 else top * 1.15
        bars.append(ScoreBar(name, value, _text(scores[name]), threshold_name, threshold, scale))
    return bars


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _regions(value: object) -> list[Region]:
    regions = []
    for item in value if isinstance(value, list) else []:
        box = _mapping(item)
        x, y, w, h = (_number(box.get(k)) for k in ("x", "y", "w", "h"))
        if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
            continue
        x, y = min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)
        regions.append(Region(x, y, min(w, 1.0 - x), min(h, 1.0 - y)))
    return [r for r in regions if r.w > 0 and r.h > 0]


def explain(details: Mapping[str, Any]) -> Explanation:
    scores = _mapping(details.get("scores"))
    thresholds = _mapping(details.get("thresholds"))
    bars = _bars(scores, thresholds)
    used = {bar.threshold_name for bar in bars}
    lone = [(name, _text(thresholds[name])) for name in sorted(thresholds) if name not in used]
    trace_value = details.get("decision_trace")
    trace = [_text(step) for step in trace_value] if isinstance(trace_value, list) else []
    baseline = _mapping(details.get("baseline"))
    stability = baseline.get("stability_frames")
    roi_version = details.get("roi_version")
    return Explanation(
        roi_version=None if roi_version is None else _text(roi_version),
        bars=bars,
        lone_thresholds=lone,
        trace=trace,
        baseline_age_seconds=_number(baseline.get("age_seconds")),
        baseline_stability_frames=None if stability is None else _text(stability),
        baseline_other=[
            (k, _text(v))
            for k, v in sorted(baseline.items())
            if k not in ("age_seconds", "stability_frames")
        ],
        regions=_regions(details.get("regions")),
        captures=[(k, _text(v)) for k, v in sorted(_mapping(details.get("captures")).items())],
    )

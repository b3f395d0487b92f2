"""What a person watching real footage would record, and whether the events match. Pure.

The cases come from the real-footage acceptance tools beside the checkout
(``../shared/tools/realdata/make_cases.py`` writes them as ``cases.json``); each states,
per event type, how many events are right (``min``, ``max``) and for some a box the
changed regions must lie on (``overlaps``: ``[x0, y0, x1, y1]`` normalised), the frame the
post picture must come after (``post_seq_min``), or the frames the first event must start
on (``started_seq_min`` / ``started_seq_max``). The rules here are the acceptance check's
(``check.py`` there), so ``shelfcam eval real`` and the check give the same verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OVERLAP_MIN_IOU = 0.1
"""A region lies on the object when their intersection over union reaches this..."""
OVERLAP_MIN_COVER = 0.5
"""... or when it covers this share of the object ..."""
OVERLAP_MAX_RATIO = 6.0
"""... while being at most this many times its size."""


@dataclass(frozen=True)
class Expectation:
    """One line of a case's expectations."""

    event_type: str
    at_least: int = 0
    at_most: int | None = None
    overlaps: tuple[float, float, float, float] | None = None
    post_seq_min: int | None = None
    started_seq_min: int | None = None
    started_seq_max: int | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Expectation:
        box = raw.get("overlaps")
        return cls(
            event_type=str(raw["type"]),
            at_least=int(raw.get("min", 0)),
            at_most=None if raw.get("max") is None else int(raw["max"]),
            overlaps=None if box is None else (box[0], box[1], box[2], box[3]),
            post_seq_min=raw.get("post_seq_min"),
            started_seq_min=raw.get("started_seq_min"),
            started_seq_max=raw.get("started_seq_max"),
        )


@dataclass(frozen=True)
class Recorded:
    """An event as recorded, with what the checks need from its details."""

    event_type: str
    started_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    why: tuple[str, ...]


def _boxes(details: Mapping[str, Any]) -> list[tuple[float, float, float, float]]:
    out = []
    for r in details.get("regions") or []:
        if isinstance(r, Mapping) and {"x", "y", "w", "h"} <= set(r):
            out.append((r["x"], r["y"], r["x"] + r["w"], r["y"] + r["h"]))
    return out


def _overlap(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> tuple[float, float, float]:
    """(share of ``b`` covered, intersection over union, area of ``a`` over ``b``)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    union = area_a + area_b - inter
    return (
        inter / area_b if area_b else 0.0,
        inter / union if union else 0.0,
        area_a / area_b if area_b else 1e9,
    )


def lies_on(details: Mapping[str, Any], target: tuple[float, float, float, float]) -> bool:
    """Some changed region of an event lies on ``target``."""
    return any(
        iou >= OVERLAP_MIN_IOU or (cover >= OVERLAP_MIN_COVER and ratio <= OVERLAP_MAX_RATIO)
        for cover, iou, ratio in (_overlap(box, target) for box in _boxes(details))
    )


def judge(
    expectations: Sequence[Expectation],
    events: Sequence[Recorded],
    seq_of: Mapping[str, int],
    captured: Sequence[datetime],
) -> Verdict:
    """Check ``events`` against ``expectations``. ``seq_of`` maps capture ids to the frame
    numbers the camera sent them with; ``captured`` is each frame's capture time."""
    ok, why = True, []
    for e in expectations:
        mine = [x for x in events if x.event_type == e.event_type]
        n = len(mine)
        if n < e.at_least or (e.at_most is not None and n > e.at_most):
            ok = False
            top = "inf" if e.at_most is None else e.at_most
            why.append(f"{e.event_type}: {n} not in [{e.at_least},{top}]")
            continue
        if e.overlaps is not None and mine:
            target = e.overlaps
            if not any(lies_on(x.details, target) for x in mine):
                ok = False
                why.append(f"{e.event_type}: regions miss the object")
        if e.post_seq_min is not None and mine:
            posts = [
                seq_of[pid]
                for x in mine
                if isinstance(pid := (x.details.get("captures") or {}).get("post_capture_id"), str)
                and pid in seq_of
            ]
            if not posts or max(posts) < e.post_seq_min:
                ok = False
                why.append(f"{e.event_type}: post frame seq {posts} before {e.post_seq_min}")
        if (e.started_seq_min is not None or e.started_seq_max is not None) and mine:
            lo = -1 if e.started_seq_min is None else e.started_seq_min
            hi = len(captured) if e.started_seq_max is None else e.started_seq_max
            start = mine[0].started_at
            gaps = [abs((c - start).total_seconds()) for c in captured]
            frame = gaps.index(min(gaps)) if gaps else -1
            if not lo <= frame <= hi:
                ok = False
                why.append(f"{e.event_type}: started at frame ~{frame}, wanted {lo}-{hi}")
    return Verdict(ok, tuple(why))

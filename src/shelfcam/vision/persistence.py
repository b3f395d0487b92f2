"""Where a change has settled: each changed place judged on its own, whatever moves elsewhere.

A change against the baseline is a set of components (`shelfcam.vision.delta.Components`).
The engine watches a change from a frame of its own (an *anchor*: the frame since which it
is watched) and asks what moves now (the previous frame as a second anchor). Each
component is compared with every anchor given: ``moved`` is the share of its pixels whose
structure changed between that frame and now (the inventory delta's structural test, at
the light-tolerant `DIST_THRESHOLD`). An item put down or taken away has not moved since
the hand left it; a hand, an arm, a passer-by or a car keeps moving. A component that
touches something still moving merges with it and moves too, so an item is judged once the
hand that set it down has gone, even while people walk past somewhere else in the view.

Each change also says whether it reaches the ROI's edge (``edge``): an arm reaching in
from outside the ROI crosses it, an item on the shelf usually does not.

Cost: one structural map per anchor over the inventory ROI's bounding box, and one count
per component and anchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.delta import (
    DIST_THRESHOLD,
    MAX_REGIONS,
    Components,
    boxes_of,
    changed_in,
    judgeable,
)
from shelfcam.vision.frame import Frame, as_u8
from shelfcam.vision.roi import Region, RoiMask

MOVING_MOTION = 0.01
"""A component with more than this share of its pixels changed in brightness since the
previous frame (the motion test) is moving now: it has moved since every anchor, and is
not compared with them."""
MAX_CHANGES = 2 * MAX_REGIONS
"""At most this many changed places are reported (the largest)."""


@dataclass(frozen=True)
class Change:
    """One changed place against the baseline."""

    region: Region
    """Its box, normalised to the full frame."""
    area: float
    """Its changed pixels over the judged ROI area: the inventory delta is
    ``1 - exp(-sum(area) / 0.025)`` over all changes."""
    moved: tuple[float, ...]
    """Per anchor (in the order given): the share of it whose structure changed since that
    frame (1.0 when the anchor is missing)."""
    edge: bool = False
    """It reaches the edge of the ROI: it may be an arm reaching in from outside."""
    motion: float = 0.0
    """The share of it that changed brightness since the previous frame (the motion test,
    `shelfcam.vision.motion`): an arm sliding out along itself keeps its structure but
    not its brightness."""

    def to_dict(self, ndigits: int = 4) -> dict[str, object]:
        return {
            **self.region.to_dict(ndigits),
            "area": round(self.area, ndigits),
            "moved": [round(m, ndigits) for m in self.moved],
            "edge": self.edge,
            "motion": round(self.motion, ndigits),
        }


def changes_of(
    comps: Components,
    anchors: Sequence[Frame | None],
    cur: Frame,
    roi: RoiMask,
    width: int,
    height: int,
    cur_judgeable: NDArray[np.uint8] | None = None,
    motion: NDArray[np.uint8] | None = None,
) -> tuple[Change, ...]:
    """The changed places of ``comps`` (``cur`` against the baseline inside ``roi``, a mask
    at thumbnail resolution ``width`` x ``height``), each compared with every anchor.
    ``motion``: the frame's motion mask against the previous frame (thumbnail-sized)."""
    if comps.labels is None or not comps.rows:
        return ()
    rows = comps.rows[:MAX_CHANGES]
    top = max(r[0] for r in rows) + 1
    if motion is None:
        shares = [0.0] * len(rows)
    else:
        crop = motion[roi.y0 : roi.y1, roi.x0 : roi.x1]
        moving = np.bincount(comps.labels[crop > 0], minlength=top).tolist()
        shares = [moving[r[0]] / r[5] for r in rows]
    # What moves now has moved since every anchor: only the rest is compared with them,
    # over the box around it (each distinct anchor once).
    still = [r for r, share in zip(rows, shares, strict=True) if share <= MOVING_MOTION]
    box = _box_around(still, roi)
    judged_here = None
    if box is not None and any(a is not None for a in anchors):
        judged_here = (judgeable(cur, roi) if cur_judgeable is None else cur_judgeable)[box[0]]
    done: dict[int, NDArray[np.intp] | None] = {}
    for a in anchors:
        if id(a) not in done:
            done[id(a)] = _moved(comps.labels, box, judged_here, a, cur, top)
    counts = [done[id(a)] for a in anchors]
    boxes = boxes_of(rows, roi, width, height, limit=MAX_CHANGES)
    rim = np.bincount(comps.labels.ravel().take(roi.rim_index), minlength=top).tolist()
    per_anchor = [None if c is None else c.tolist() for c in counts]
    denominator = comps.denominator
    return tuple(
        [
            Change(
                box,
                row[5] / denominator,
                tuple(
                    [
                        1.0 if c is None or share > MOVING_MOTION else c[row[0]] / row[5]
                        for c in per_anchor
                    ]
                ),
                edge=rim[row[0]] > 0,
                motion=share,
            )
            for box, row, share in zip(boxes, rows, shares, strict=True)
        ]
    )


Box = tuple[tuple[slice, slice], tuple[slice, slice]]
"""A box as slices of the ROI's bounding box, and the same box in the thumbnail."""


def _box_around(rows: list[tuple[int, int, int, int, int, int]], roi: RoiMask) -> Box | None:
    if not rows:
        return None
    by0, bx0 = min(r[2] for r in rows), min(r[1] for r in rows)
    by1, bx1 = max(r[2] + r[4] for r in rows), max(r[1] + r[3] for r in rows)
    inner = (slice(by0, by1), slice(bx0, bx1))
    return inner, (slice(roi.y0 + by0, roi.y0 + by1), slice(roi.x0 + bx0, roi.x0 + bx1))


def _moved(
    labels: NDArray[np.uint16],
    box: Box | None,
    judged_here: NDArray[np.uint8] | None,
    anchor: Frame | None,
    cur: Frame,
    top: int,
) -> NDArray[np.intp] | None:
    """Per label, its pixels whose structure changed since ``anchor``, judged over ``box``
    only (None without an anchor)."""
    if anchor is None:
        return None
    if box is None or judged_here is None:
        return np.zeros(top, np.intp)
    inner, (ys, xs) = box
    judged = as_u8(cv2.bitwise_and(anchor.valid[ys, xs], judged_here))
    changed = changed_in(anchor, cur, ys, xs, judged, DIST_THRESHOLD)
    return np.bincount(labels[inner][changed > 0], minlength=top)

"""The per-device engine state, kept as JSONB between frames (``device_state.state``).

Only plain values: capture ids (strings), times (datetimes, ISO text in JSON), counters and
normalised boxes. The frames themselves stay in the frame store; the worker keeps every
capture named here (`EngineState.referenced_captures`: the baseline and its patches, the
previous frame, the frames a watched change is compared with and shown by, the frames of
recent interactions) and may delete any other staging frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

Box = dict[str, float]
"""A box normalised to the full frame: ``{"x": .., "y": .., "w": .., "h": ..}``."""


@dataclass(frozen=True)
class Mark:
    """One frame remembered by the engine: which capture, when, and a score of interest."""

    capture_id: str
    t: datetime
    value: float = 0.0


@dataclass(frozen=True)
class Interaction:
    """Motion in the interaction ROI, from its first frame to its last."""

    started_at: datetime
    last_motion_at: datetime
    during: Mark
    """The frame of peak motion (``value`` is that motion)."""
    motion_frames: int
    pre: Mark | None
    """The baseline when it began."""
    dark: bool = False
    """The view was too dark (or too bright) to judge stock while it lasted."""
    key: str | None = None
    """The key of its event when it was recorded before it ended (it went on for
    ``interaction_max_seconds``): the event is closed when it ends."""


@dataclass(frozen=True)
class Patch:
    """A place of the baseline re-taken from a later frame: a change was confirmed there
    while something else in the view still differed from the baseline (a passer-by), so
    the whole later frame could not become the baseline."""

    mark: Mark
    box: Box


@dataclass(frozen=True)
class Watch:
    """A change against the baseline, watched until it has persisted in its own place.

    ``since`` is the frame it is compared with (its anchor): the settled part has not
    changed since then. When something moves on it or next to it (the hand still at work,
    a passer-by over it), the clock restarts from that frame; ``seen_at`` stays when the
    change was first seen. Motion further away does not matter.
    """

    seen_at: datetime
    since: Mark
    last: Mark | None = None
    """The latest frame on which the change was settled."""
    post: Mark | None = None
    """The latest frame on which it was settled and nothing in the inventory ROI moved:
    the picture of the settled view."""
    alone: Mark | None = None
    """The latest frame on which it was settled and nothing moved near it."""
    approached: bool = False
    """After it had been left alone, something moved up to it (a hand coming back)."""
    whole: bool = False
    """On ``post`` every difference from the baseline was part of the settled change (so
    ``post`` can become the whole baseline)."""
    area: float = 0.0
    """The settled part's share of the judged inventory ROI on ``last``."""
    regions: tuple[Box, ...] = ()
    """The settled places on ``last``."""
    alone_area: float = 0.0
    alone_regions: tuple[Box, ...] = ()
    """The same on ``alone``, the latest frame with nothing moving near the change."""
    edge: bool = False
    """On ``last`` the settled change reached the edge of the inventory ROI (an arm?)."""
    fresh: Mark | None = None
    """A second, younger anchor: places that settled after ``since`` (the second item of
    a swap) are watched since this frame, to join the change if they settled soon after."""
    lit: bool = False
    """First seen while the light was changing."""


@dataclass(frozen=True)
class OpenEvent:
    """An event emitted with ended_at null, closed when its condition clears."""

    key: str
    since: datetime


@dataclass(frozen=True)
class EngineState:
    last_t: datetime | None = None
    prev_capture_id: str | None = None
    # the view stock is judged against
    baseline: Mark | None = None
    baseline_stable_frames: int = 0
    patches: tuple[Patch, ...] = ()
    holes: tuple[Box, ...] = ()
    """Places that moved on the baseline's frame (it was taken in a busy view): what the
    baseline shows there was passing through, so a change there is healed, not stock."""
    stable_run: int = 0
    """Consecutive frames on which the whole view was still."""
    stable_since: Mark | None = None
    calm_run: int = 0
    """Consecutive frames on which the inventory ROI was still."""
    calm_since: datetime | None = None
    """When the inventory ROI became still (None while it moves)."""
    quiet_run: int = 0
    """Consecutive frames on which little of the inventory ROI moved (a busy view)."""
    lighting_since: datetime | None = None
    # activity
    interaction: Interaction | None = None
    """The interaction under way."""
    ended: Interaction | None = None
    """An interaction that ended, waiting for the camera's health to be clear (the motion
    of a knock or of a hand covering the lens is not an interaction)."""
    recent: Interaction | None = None
    """The last interaction recorded, to which a stock change may belong."""
    watch: Watch | None = None
    # health
    obstructed_since: datetime | None = None
    clear_run: int = 0
    clear_since: datetime | None = None
    obstruction: OpenEvent | None = None
    shifted_since: datetime | None = None
    shift: OpenEvent | None = None
    reference_at: datetime | None = None
    reference_stale: bool = False
    # empty shelf
    empty_run: int = 0
    empty_since: datetime | None = None
    empty: OpenEvent | None = None
    burst: bool = False
    counters: dict[str, int] = field(default_factory=dict)

    def evolve(self, **changes: Any) -> EngineState:
        return replace(self, **changes)

    def referenced_captures(self) -> set[str]:
        """Every capture this state still needs (its staging file must stay)."""
        marks: list[Mark | None] = [self.baseline, self.stable_since]
        marks += [p.mark for p in self.patches]
        for it in (self.interaction, self.ended, self.recent):
            if it is not None:
                marks += [it.during, it.pre]
        if self.watch is not None:
            w = self.watch
            marks += [w.since, w.last, w.post, w.fresh]  # ``alone`` is only a time
        found = {m.capture_id for m in marks if m is not None}
        if self.prev_capture_id is not None:
            found.add(self.prev_capture_id)
        return found

    def anchors(self) -> list[str]:
        """The captures `shelfcam.vision.analyze` judges each change against while a
        change is watched: the frame it is compared with, the previous frame (what moves
        now) and the younger anchor, if any."""
        w = self.watch
        if w is None:
            return []
        fresh = [] if w.fresh is None else [w.fresh.capture_id]
        return [w.since.capture_id, self.prev_capture_id or "", *fresh]

    def to_json(self) -> dict[str, Any]:
        encoded: dict[str, Any] = _encode(asdict(self))
        return encoded

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EngineState:
        """The state saved by `to_json`. Fields an older version of the engine saved and
        this one does not know are dropped (its open events and baseline carry over); a
        state that cannot be read at all starts afresh."""
        if not data:
            return cls()
        try:
            return _decode_state(data)
        except (TypeError, KeyError, ValueError):
            return cls()


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$t"}:
        return datetime.fromisoformat(value["$t"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _mark(value: Any) -> Mark | None:
    return None if value is None else Mark(**value)


def _interaction(value: Any) -> Interaction | None:
    if value is None:
        return None
    return Interaction(**{**value, "during": _mark(value["during"]), "pre": _mark(value["pre"])})


def _watch(value: Any) -> Watch | None:
    if value is None:
        return None
    marks = {k: _mark(value.get(k)) for k in ("since", "last", "post", "alone", "fresh")}
    regions = {k: tuple(value.get(k) or ()) for k in ("regions", "alone_regions")}
    return Watch(**{**value, **marks, **regions})


def _open(value: Any) -> OpenEvent | None:
    return None if value is None else OpenEvent(**value)


def _decode_state(raw: dict[str, Any]) -> EngineState:
    data = _plain(raw)
    known = {f.name for f in fields(EngineState)}
    data = {k: v for k, v in data.items() if k in known}
    for name in ("baseline", "stable_since"):
        data[name] = _mark(data.get(name))
    for name in ("interaction", "ended", "recent"):
        data[name] = _interaction(data.get(name))
    data["watch"] = _watch(data.get("watch"))
    data["patches"] = tuple(Patch(Mark(**p["mark"]), p["box"]) for p in data.get("patches") or ())
    for name in ("obstruction", "shift", "empty"):
        data[name] = _open(data.get(name))
    return EngineState(**data)

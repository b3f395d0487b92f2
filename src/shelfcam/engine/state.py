"""The per-device engine state, kept as JSONB between frames (``device_state.state``).

Only plain values: capture ids (strings), times (datetimes, ISO text in JSON), counters.
The frames themselves stay in the frame store; the worker keeps every capture named here
(the baseline, the previous frame, an open episode's pre/post/during candidates) and may
delete any other staging frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Literal

Mode = Literal["idle", "interaction", "settling", "obstructed", "shifted", "rebasing"]


@dataclass(frozen=True)
class Mark:
    """One frame remembered by the engine: which capture, when, and a score of interest."""

    capture_id: str
    t: datetime
    value: float = 0.0


@dataclass(frozen=True)
class Held:
    """A change left on a stable view when someone reached in again: kept aside until the
    next stable view tells whether it was real (it stays) or a still hand (it leaves)."""

    post: Mark
    post_delta: float | None
    post_regions: tuple[dict[str, float], ...]
    confirm_from: datetime
    interaction_started_at: datetime | None
    interaction_ended_at: datetime | None
    during: Mark | None
    interaction_peak: float
    motion_frames: int


@dataclass(frozen=True)
class Episode:
    """From the first sign of activity to the decision about stock.

    ``pre`` is the baseline when it started; ``during`` the peak-motion frame; ``post`` the
    first frame of the stable view after it (post_stable_found); ``confirm_from`` when the
    change was first seen on that stable view (it must persist).
    """

    pre: Mark | None
    started_at: datetime
    last_motion_at: datetime | None = None
    during: Mark | None = None
    post: Mark | None = None
    post_delta: float | None = None
    post_regions: tuple[dict[str, float], ...] = ()
    confirm_from: datetime | None = None
    interaction_emitted: bool = False
    motion_frames: int = 0
    post_stale: bool = False
    held: Held | None = None
    reached_elsewhere: bool = False
    lighting: bool = False
    interactions: int = 0
    interaction_open: bool = False
    interaction_started_at: datetime | None = None
    interaction_peak: float = 0.0
    trace: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenEvent:
    """An event emitted with ended_at null, closed when its condition clears."""

    key: str
    since: datetime


@dataclass(frozen=True)
class EngineState:
    mode: Mode = "rebasing"
    last_t: datetime | None = None
    prev_capture_id: str | None = None
    baseline: Mark | None = None
    baseline_stable_frames: int = 0
    stable_run: int = 0
    stable_since: Mark | None = None
    change_seen_at: datetime | None = None
    lighting_since: datetime | None = None
    episode: Episode | None = None
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
        if self.episode is not None:
            marks += [self.episode.pre, self.episode.during, self.episode.post]
            if self.episode.held is not None:
                marks += [self.episode.held.post, self.episode.held.during]
        found = {m.capture_id for m in marks if m is not None}
        if self.prev_capture_id is not None:
            found.add(self.prev_capture_id)
        return found

    def held_capture(self) -> str | None:
        """The capture of a held change's view, when the worker must compare against it."""
        if self.episode is None or self.episode.held is None:
            return None
        return self.episode.held.post.capture_id

    def to_json(self) -> dict[str, Any]:
        encoded: dict[str, Any] = _encode(asdict(self))
        return encoded

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> EngineState:
        if not data:
            return cls()
        return _decode_state(data)


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


def _open(value: Any) -> OpenEvent | None:
    return None if value is None else OpenEvent(**value)


def _decode_state(raw: dict[str, Any]) -> EngineState:
    data = _plain(raw)
    known = {f.name for f in fields(EngineState)}
    data = {k: v for k, v in data.items() if k in known}
    for name in ("baseline", "stable_since"):
        data[name] = _mark(data.get(name))
    for name in ("obstruction", "shift", "empty"):
        data[name] = _open(data.get(name))
    if data.get("episode") is not None:
        ep = dict(data["episode"])
        for name in ("pre", "during", "post"):
            ep[name] = _mark(ep.get(name))
        ep["post_regions"] = tuple(ep.get("post_regions") or ())
        ep["trace"] = tuple(ep.get("trace") or ())
        if ep.get("held") is not None:
            held = dict(ep["held"])
            held["post"] = _mark(held["post"])
            held["during"] = _mark(held.get("during"))
            held["post_regions"] = tuple(held.get("post_regions") or ())
            ep["held"] = Held(**held)
        data["episode"] = Episode(**ep)
    return EngineState(**data)

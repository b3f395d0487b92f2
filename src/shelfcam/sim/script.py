"""Scripting a scenario: a `SceneScript` appends camera states frame by frame and records labels.

Each method appends the frames of one happening (a hand reaching in, lights switched, the
lens covered...) and records what a correct system reports about it. Times are offsets in ms
from the first frame: frame ``i`` is at ``round(i * 1000 / fps)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from shelfcam.sim.render import CameraState, Scene

JsonDict = dict[str, Any]

SETTLE_S = 6.0
"""Stable time after each interaction: a stock change is judged once the view is still."""


@dataclass
class SceneScript:
    scene: Scene
    fps: float
    rng: np.random.Generator
    base: CameraState
    states: list[CameraState] = field(default_factory=list)
    events: list[JsonDict] = field(default_factory=list)
    phases: list[JsonDict] = field(default_factory=list)
    _empty_open: JsonDict | None = None

    # -- time -------------------------------------------------------------------------
    def t_ms(self, index: int) -> int:
        return round(index * 1000.0 / self.fps)

    def frames(self, seconds: float) -> int:
        return max(1, round(seconds * self.fps))

    @property
    def now(self) -> int:
        """Index of the next frame."""
        return len(self.states)

    def _phase(self, kind: str, start: int, note: str = "") -> None:
        self.phases.append(
            {"kind": kind, "start_frame": start, "end_frame": self.now, "note": note}
        )

    def _event(self, event_type: str, start: int, end: int | None, **extra: Any) -> JsonDict:
        ev: JsonDict = {
            "event_type": event_type,
            "start_ms": self.t_ms(start),
            "end_ms": None if end is None else self.t_ms(end),
            "start_frame": start,
            "end_frame": end,
        }
        ev.update(extra)
        self.events.append(ev)
        return ev

    # -- geometry ---------------------------------------------------------------------
    def item_box(self, ident: int, x: int | None = None, y: int | None = None) -> JsonDict:
        """The item's box normalised to the camera view at the current shift."""
        it = self.scene.items[ident]
        w, h = it.sprite.size
        px = it.x if x is None else x
        py = it.y if y is None else y
        for i, ix, iy in self.base.items:
            if i == ident and x is None:
                px, py = ix, iy
        vx, vy, _, _ = self.scene.view_box(px, py, w, h, self.base.shift)
        return {
            "x": round(vx / self.scene.width, 4),
            "y": round(vy / self.scene.height, 4),
            "w": round(w / self.scene.width, 4),
            "h": round(h / self.scene.height, 4),
        }

    @staticmethod
    def union(boxes: list[JsonDict]) -> JsonDict:
        x0 = min(b["x"] for b in boxes)
        y0 = min(b["y"] for b in boxes)
        x1 = max(b["x"] + b["w"] for b in boxes)
        y1 = max(b["y"] + b["h"] for b in boxes)
        return {"x": x0, "y": y0, "w": round(x1 - x0, 4), "h": round(y1 - y0, 4)}

    def item_centre(self, ident: int) -> tuple[float, float]:
        it = self.scene.items[ident]
        w, h = it.sprite.size
        for i, ix, iy in self.base.items:
            if i == ident:
                return ix + w / 2.0, iy + h / 2.0
        return it.x + w / 2.0, it.y + h / 2.0

    # -- state ------------------------------------------------------------------------
    def _push(self, state: CameraState) -> None:
        self.states.append(state)

    def _items_changed(self, at: int) -> None:
        if not self.base.items and self._empty_open is None:
            self._empty_open = self._event("empty_confirmed", at, None)
        elif self.base.items and self._empty_open is not None:
            self._empty_open["end_ms"] = self.t_ms(at)
            self._empty_open["end_frame"] = at
            self._empty_open = None

    def hold(self, seconds: float, kind: str = "stable", note: str = "") -> None:
        start = self.now
        for _ in range(self.frames(seconds)):
            self._push(self.base)
        self._phase(kind, start, note)

    def settle(self, seconds: float = SETTLE_S) -> None:
        self.hold(seconds, "stable", "settling after a change")

    def ramp(self, seconds: float, kind: str, note: str = "", **target: Any) -> None:
        """Move numeric camera settings linearly to ``target`` over ``seconds``."""
        start = self.now
        n = self.frames(seconds)
        a = self.base
        b = replace(a, **target)
        for k in range(1, n + 1):
            f = k / n
            changes: dict[str, Any] = {}
            for name, tv in target.items():
                av = getattr(a, name)
                if isinstance(tv, tuple):
                    changes[name] = tuple(x + (y - x) * f for x, y in zip(av, tv, strict=True))
                else:
                    changes[name] = av + (tv - av) * f
            self._push(replace(a, **changes))
        self.base = b
        self._phase(kind, start, note)

    def set(self, **changes: Any) -> None:
        """Change camera settings from the next frame on (an instantaneous jump)."""
        self.base = replace(self.base, **changes)

    # -- happenings ---------------------------------------------------------------------
    def reach(
        self,
        target: tuple[float, float],
        *,
        items_after: tuple[tuple[int, int, int], ...] | None = None,
        linger: float = 0.0,
        enter_s: float = 1.0,
        note: str = "hand reaches in",
    ) -> tuple[int, int]:
        """A hand enters, stays at ``target`` (canvas px), the items become ``items_after``,
        and the hand leaves. Returns (first hand frame, first frame without the hand)."""
        sc = self.scene
        start = self.now
        ox = float(self.rng.uniform(0.3, 0.7))
        origin = (ox, 1.35)
        entry = (sc.margin + ox * sc.width, sc.margin + 1.1 * sc.height)
        n_in = self.frames(enter_s)
        for k in range(1, n_in + 1):
            f = k / n_in
            tip = (entry[0] + (target[0] - entry[0]) * f, entry[1] + (target[1] - entry[1]) * f)
            self._push(replace(self.base, hand=tip, hand_from=origin))
        for _ in range(self.frames(0.5 + linger)):
            jx, jy = self.rng.integers(-2, 3, size=2)
            tip = (target[0] + float(jx), target[1] + float(jy))
            self._push(replace(self.base, hand=tip, hand_from=origin))
        if items_after is not None:
            self.base = replace(self.base, items=items_after)
        for k in range(1, n_in + 1):
            f = 1.0 - k / (n_in + 1)
            tip = (entry[0] + (target[0] - entry[0]) * f, entry[1] + (target[1] - entry[1]) * f)
            self._push(replace(self.base, hand=tip, hand_from=origin))
        end = self.now
        self._phase("hand", start, note)
        self._event("interaction_detected", start, end, pre_frame=start - 1, post_frame=None)
        return start, end

    def _stock(self, start: int, end: int, change: str, boxes: list[JsonDict]) -> None:
        self._event(
            "stock_changed",
            start,
            end,
            change=change,
            box=self.union(boxes),
            boxes=boxes,
            pre_frame=start - 1,
            post_frame=None,
        )

    def _finish(self, start: int, end: int, change: str | None, boxes: list[JsonDict]) -> None:
        if change is not None:
            self._stock(start, end, change, boxes)
        self._items_changed(end)
        self.settle()
        post = self.now - 1
        for ev in self.events:
            if ev.get("post_frame", 0) is None:
                ev["post_frame"] = post

    def take(self, ident: int, *, linger: float = 0.0) -> None:
        box = self.item_box(ident)
        after = tuple(t for t in self.base.items if t[0] != ident)
        start, end = self.reach(self.item_centre(ident), items_after=after, linger=linger)
        self._finish(start, end, "removed", [box])

    def add(self, ident: int, *, linger: float = 0.0) -> None:
        it = self.scene.items[ident]
        after = (*self.base.items, (ident, it.x, it.y))
        box = self.item_box(ident, it.x, it.y)
        w, h = it.sprite.size
        start, end = self.reach((it.x + w / 2.0, it.y + h / 2.0), items_after=after, linger=linger)
        self._finish(start, end, "added", [box])

    def move(self, ident: int, dx: int) -> None:
        old = self.item_box(ident)
        ox, oy = self.item_centre(ident)
        cur = next(t for t in self.base.items if t[0] == ident)
        after = tuple(t if t[0] != ident else (ident, cur[1] + dx, cur[2]) for t in self.base.items)
        new = self.item_box(ident, cur[1] + dx, cur[2])
        start, end = self.reach((ox + dx / 2.0, oy), items_after=after)
        self._finish(start, end, "moved", [old, new])

    def nothing(self, *, linger: float = 0.0, target: tuple[float, float] | None = None) -> None:
        """A hand reaches in (and lingers) and leaves with nothing changed."""
        if target is None:
            ident = self.base.items[0][0] if self.base.items else 0
            target = self.item_centre(ident)
        start, end = self.reach(target, linger=linger, note="hand, nothing changed")
        self._finish(start, end, None, [])

    def fast(self, *, remove: int | None = None, add: int | None = None) -> None:
        """An item appears or vanishes between two frames with no hand visible."""
        at = self.now
        items = self.base.items
        boxes: list[JsonDict] = []
        if remove is not None:
            boxes.append(self.item_box(remove))
            items = tuple(t for t in items if t[0] != remove)
        if add is not None:
            it = self.scene.items[add]
            boxes.append(self.item_box(add, it.x, it.y))
            items = (*items, (add, it.x, it.y))
        self.base = replace(self.base, items=items)
        self._push(self.base)
        self._phase("fast_change", at, "changed between two frames, no hand visible")
        change = "added" if remove is None else "removed" if add is None else "swapped"
        self._stock(at, at, change, boxes)
        self._items_changed(at)
        self.settle()
        for ev in self.events:
            if ev.get("post_frame", 0) is None:
                ev["post_frame"] = self.now - 1

    def cover(self, seconds: float) -> None:
        start = self.now
        self.ramp(0.5, "cover", "hand over the lens", cover=0.97)
        self.hold(seconds, "cover", "lens covered")
        self.ramp(0.5, "cover", "hand leaves the lens", cover=0.0)
        self._event("camera_obstructed", start, self.now)

    def shift(self, dx: int, dy: int) -> None:
        at = self.now
        self.set(shift=(dx, dy))
        self._push(self.base)
        self._phase("shift", at, f"camera moved by ({dx}, {dy}) px and stays")
        self._event("scene_shifted", at, None, shift_px=[dx, dy])

"""Rendering of a synthetic shelf: textures made once per scenario, frames composited fast.

A `Scene` holds a canvas larger than the camera view by a margin on every side (so a camera
shift reveals real scene content), the shelf with its boards, a set of item sprites with their
home positions, and a skin texture for the hand. `render` turns one `CameraState` into RGB
pixels: items, hand and its soft shadow, then the camera and light: smooth daylight field,
exposure gain, white balance, offset, lens cover, sensor noise. All in float32 0..255.

Speed (about 5 ms per VGA frame plus the JPEG encode): the canvas with a set of items pasted
is composited once and cached; only the view is processed; per-pixel work is done by single
OpenCV calls; each frame's sensor noise is a randomly placed and signed crop of one noise
field drawn per scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
Box = tuple[int, int, int, int]  # x, y, w, h in canvas px

_ITEM_CACHE = 8
"""Item sets whose composited canvas is kept (a scenario has a handful)."""
_NOISE_PAD = 48
"""Each frame's sensor noise is the noise field cropped at a random offset in 0.._NOISE_PAD
(and a random sign): independent values at every pixel from frame to frame, without drawing
a million normals per frame."""

# Normalised ROIs the scenes are drawn with (the shelf is inside the inventory ROI).
INTERACTION_ROI = ((0.06, 0.05), (0.94, 0.05), (0.94, 0.95), (0.06, 0.95))
INVENTORY_ROI = ((0.12, 0.1), (0.88, 0.1), (0.88, 0.88), (0.12, 0.88))


@dataclass(frozen=True)
class Sprite:
    rgb: F32
    alpha: F32  # (h, w, 1), 0..1

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


@dataclass(frozen=True)
class Item:
    """An item of the scene: its sprite and its home place (canvas px, top-left)."""

    ident: int
    sprite: Sprite
    x: int
    y: int
    kind: str


@dataclass(frozen=True)
class CameraState:
    """Everything that decides one frame's pixels."""

    items: tuple[tuple[int, int, int], ...]  # (ident, x, y) of the visible items, canvas px
    hand: tuple[float, float] | None = None  # hand tip, canvas px
    hand_from: tuple[float, float] = (0.5, 1.2)  # arm origin, normalised view coordinates
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per channel (light colour x WB)
    exposure: float = 1.0
    offset: float = 0.0
    daylight: float = 0.0  # strength of a smooth left-to-right light gradient, -1..1
    shadow: float = 0.0  # soft shadow blob over the right part of the view, 0..1
    cover: float = 0.0  # 0..1 opacity of a hand held over the lens
    shift: tuple[int, int] = (0, 0)  # camera view offset, px (content moves the other way)
    noise: float = 2.0  # sensor noise sigma, grey levels
    quality: int = 80


@dataclass
class Scene:
    width: int
    height: int
    margin: int
    canvas: F32  # (H + 2m, W + 2m, 3)
    items: dict[int, Item]
    skin: F32
    cover_tex: F32
    daylight_field: F32
    shadow_field: F32
    boards: list[int] = field(default_factory=list)  # canvas y of each board's top surface
    # Caches filled while rendering (deterministic functions of the scene and the draws):
    # the canvas with each set of items pasted, and one field of unit sensor noise.
    _with_items: dict[tuple[tuple[int, int, int], ...], F32] = field(
        default_factory=dict, repr=False
    )
    _noise: F32 | None = field(default=None, repr=False)

    def with_items(self, items: tuple[tuple[int, int, int], ...]) -> F32:
        """The canvas with ``items`` pasted (cached per item set; read-only)."""
        img = self._with_items.get(items)
        if img is None:
            if len(self._with_items) >= _ITEM_CACHE:
                self._with_items.pop(next(iter(self._with_items)))
            img = self.canvas.copy()
            for ident, x, y in items:
                _paste(img, self.items[ident].sprite, x, y)
            img.flags.writeable = False
            self._with_items[items] = img
        return img

    def noise_field(self, rng: np.random.Generator) -> F32:
        """Unit Gaussian noise, a little larger than the view (drawn from ``rng`` once)."""
        if self._noise is None:
            shape = (self.height + _NOISE_PAD, self.width + _NOISE_PAD, 3)
            self._noise = rng.standard_normal(shape, dtype=np.float32)
            self._noise.flags.writeable = False
        return self._noise

    def view_box(self, x: int, y: int, w: int, h: int, shift: tuple[int, int]) -> Box:
        """A canvas box as seen in the camera view (px, may be partly outside)."""
        return (x - self.margin - shift[0], y - self.margin - shift[1], w, h)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int, amp: float) -> F32:
    small = rng.standard_normal((max(2, cells * h // w), cells)).astype(np.float32)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return (big * amp).astype(np.float32)


def _grain(rng: np.random.Generator, h: int, w: int, amp: float) -> F32:
    g = rng.standard_normal((h, w)).astype(np.float32)
    return cv2.GaussianBlur(g, (3, 3), 0) * amp


def _colour(rng: np.random.Generator, sat: tuple[float, float] = (0.3, 0.9)) -> F32:
    hsv = np.array(
        [[[rng.uniform(0, 180), rng.uniform(*sat) * 255, rng.uniform(90, 230)]]], np.uint8
    )
    return np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0], dtype=np.float32)


def _item_sprite(rng: np.random.Generator, w: int, h: int, kind: str) -> Sprite:
    base = _colour(rng)
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:] = base
    alpha = np.ones((h, w), np.float32)
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)
    if kind == "can":
        shade = 0.65 + 0.45 * np.cos(xs * 1.3)
        rgb *= shade[None, :, None]
        for _ in range(rng.integers(1, 4)):
            y0 = int(rng.integers(0, max(1, h - 4)))
            rgb[y0 : y0 + max(2, h // 10)] = _colour(rng) * shade[None, :, None]
    elif kind == "bottle":
        neck_w = max(2, w // 3)
        neck_h = h // 3
        alpha[:neck_h, : (w - neck_w) // 2] = 0.0
        alpha[:neck_h, (w + neck_w) // 2 :] = 0.0
        rgb *= (0.7 + 0.35 * np.cos(xs * 1.5))[None, :, None]
        rgb[:, w // 4 : w // 4 + max(1, w // 10)] += 60.0
        y0 = h // 2
        rgb[y0 : y0 + h // 5] = _colour(rng, (0.0, 0.3))
    else:  # box
        lx0, ly0 = int(w * rng.uniform(0.1, 0.3)), int(h * rng.uniform(0.15, 0.4))
        lx1, ly1 = int(w * rng.uniform(0.7, 0.9)), int(h * rng.uniform(0.55, 0.85))
        rgb[ly0:ly1, lx0:lx1] = _colour(rng)
        for _ in range(int(rng.integers(2, 6))):
            tx = int(rng.integers(lx0, max(lx0 + 1, lx1 - 3)))
            ty = int(rng.integers(ly0, max(ly0 + 1, ly1 - 2)))
            tw = int(rng.integers(2, max(3, (lx1 - lx0) // 2)))
            rgb[ty : ty + max(1, h // 30), tx : tx + tw] *= 0.3
        rgb[:, : max(1, w // 12)] *= 0.75
    texture = float(rng.uniform(2.0, 10.0))
    rgb += _grain(rng, h, w, texture)[:, :, None]
    cv2.rectangle(rgb, (0, 0), (w - 1, h - 1), (base * 0.5).tolist(), max(1, w // 40))
    rgb = np.clip(rgb, 0, 255)
    soft = cast(F32, cv2.GaussianBlur(alpha, (3, 3), 0))
    return Sprite(rgb=rgb, alpha=soft[:, :, None])


def build_scene(
    rng: np.random.Generator,
    width: int,
    height: int,
    *,
    boards: int = 3,
    items_per_board: tuple[int, int] = (3, 5),
    small_items: bool = False,
) -> Scene:
    """Make a shelf scene with textures, boards and items placed on the boards."""
    m = max(8, width // 16)
    ch, cw = height + 2 * m, width + 2 * m
    wall = np.empty((ch, cw, 3), np.float32)
    wall[:] = _colour(rng, (0.05, 0.25)) * 0.9
    wall += _smooth_noise(rng, ch, cw, 6, 12.0)[:, :, None]
    wall += _grain(rng, ch, cw, 5.0)[:, :, None]
    # Posters, a socket and a window frame on the wall give the static view outside the ROIs
    # a structure phase correlation can lock on.
    for _ in range(10):
        x0, y0 = int(rng.integers(0, cw - 10)), int(rng.integers(0, ch - 10))
        pw, ph = int(rng.integers(cw // 40, cw // 8)), int(rng.integers(ch // 30, ch // 6))
        cv2.rectangle(wall, (x0, y0), (x0 + pw, y0 + ph), _colour(rng).tolist(), -1)
        cv2.rectangle(wall, (x0, y0), (x0 + pw, y0 + ph), (30.0, 30.0, 30.0), 2)

    def nx(v: float) -> int:
        return m + int(v * width)

    def ny(v: float) -> int:
        return m + int(v * height)

    sx0, sx1, sy0, sy1 = nx(0.15), nx(0.85), ny(0.12), ny(0.86)
    back = np.empty((sy1 - sy0, sx1 - sx0, 3), np.float32)
    back[:] = _colour(rng, (0.05, 0.3)) * 0.75
    back += _grain(rng, sy1 - sy0, sx1 - sx0, 3.0)[:, :, None]
    back += _smooth_noise(rng, sy1 - sy0, sx1 - sx0, 4, 6.0)[:, :, None]
    wall[sy0:sy1, sx0:sx1] = back
    wood = _colour(rng, (0.4, 0.7)) * 0.8
    side_w = max(3, width // 40)
    for x in (sx0 - side_w, sx1):
        wall[sy0 - side_w : sy1, x : x + side_w] = wood * 0.8
    board_th = max(3, height // 30)
    grain_row = cv2.GaussianBlur(
        rng.standard_normal((board_th, sx1 - sx0 + 2 * side_w)).astype(np.float32), (31, 1), 0
    )
    tops: list[int] = []
    step = (sy1 - sy0) / boards
    for b in range(boards):
        top = int(sy0 + (b + 1) * step) - board_th
        tops.append(top)
        x0 = sx0 - side_w
        board = np.empty((board_th, sx1 - sx0 + 2 * side_w, 3), np.float32)
        board[:] = wood
        board += grain_row[:, :, None] * 18.0
        board[: max(1, board_th // 4)] *= 1.2
        wall[top : top + board_th, x0 : x0 + board.shape[1]] = board

    items: dict[int, Item] = {}
    ident = 0
    kinds = ("box", "can", "bottle")
    for b in range(boards):
        top = tops[b]
        room = int(step - board_th - 4)
        n = int(rng.integers(items_per_board[0], items_per_board[1] + 1))
        slot = (sx1 - sx0) / n
        for k in range(n):
            kind = kinds[int(rng.integers(0, 3))]
            frac = rng.uniform(0.35, 0.6) if small_items else rng.uniform(0.5, 0.85)
            iw = int(slot * frac * (0.6 if kind == "bottle" else 1.0))
            ih = int(room * rng.uniform(0.55, 0.95))
            iw, ih = max(4, iw), max(6, ih)
            x = int(sx0 + k * slot + rng.uniform(0.05, 0.95) * (slot - iw))
            items[ident] = Item(ident, _item_sprite(rng, iw, ih, kind), x, top - ih, kind)
            ident += 1

    skin = np.empty((ch, cw, 3), np.float32)
    skin[:] = np.array([205.0, 150.0, 120.0], np.float32) * float(rng.uniform(0.6, 1.05))
    skin += _smooth_noise(rng, ch, cw, 12, 14.0)[:, :, None]
    cover = np.empty((height, width, 3), np.float32)
    cover[:] = np.array([70.0, 38.0, 30.0], np.float32)
    cover += _smooth_noise(rng, height, width, 3, 8.0)[:, :, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)
    day = (0.35 * xs[None, :] + 0.15 * ys[:, None]).astype(np.float32)
    gx, gy = np.meshgrid(xs, ys)
    shadow = np.exp(-((gx - 0.4) ** 2 + (gy + 0.1) ** 2) / 0.35).astype(np.float32)
    return Scene(
        width=width,
        height=height,
        margin=m,
        canvas=wall,
        items=items,
        skin=skin,
        cover_tex=cover,
        daylight_field=day,
        shadow_field=shadow,
        boards=tops,
    )


def _paste(dst: F32, sprite: Sprite, x: int, y: int) -> None:
    w, h = sprite.size
    H, W = dst.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    s = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    a = sprite.alpha[s]
    region = dst[y0:y1, x0:x1]
    region *= 1.0 - a
    region += sprite.rgb[s] * a


def _hand_mask(scene: Scene, tip: tuple[float, float], origin: tuple[float, float]) -> F32:
    ch, cw = scene.canvas.shape[:2]
    mask = np.zeros((ch, cw), np.uint8)
    m = scene.margin
    ox, oy = m + origin[0] * scene.width, m + origin[1] * scene.height
    arm_w = max(3, int(scene.width * 0.09))
    tx, ty = int(tip[0]), int(tip[1])
    cv2.line(mask, (int(ox), int(oy)), (tx, ty), 255, arm_w)
    hand_r = (max(3, int(scene.width * 0.045)), max(3, int(scene.height * 0.05)))
    cv2.ellipse(mask, (tx, ty), hand_r, 0, 0, 360, 255, -1)
    dx, dy = tx - ox, ty - oy
    norm = max(1.0, float(np.hypot(dx, dy)))
    ux, uy = dx / norm, dy / norm
    for k in (-1.5, -0.5, 0.5, 1.5):
        bx = tx + ux * hand_r[1] * 0.6 - uy * k * hand_r[0] * 0.45
        by = ty + uy * hand_r[1] * 0.6 + ux * k * hand_r[0] * 0.45
        ex = bx + ux * hand_r[1] * 1.1
        ey = by + uy * hand_r[1] * 1.1
        cv2.line(mask, (int(bx), int(by)), (int(ex), int(ey)), 255, max(2, arm_w // 6))
    return cast(F32, cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (5, 5), 0))


def _soft_shadow(scene: Scene, mask: F32) -> F32:
    """The hand's soft shadow: its mask blurred over about a twelfth of the view's width
    (at a quarter resolution: it is soft anyway), canvas-sized."""
    ch, cw = mask.shape
    qw, qh = max(1, cw // 4), max(1, ch // 4)
    small = cv2.resize(mask, (qw, qh), interpolation=cv2.INTER_AREA)
    k = max(3, (scene.width // 48) | 1)
    blurred = cv2.GaussianBlur(small, (k, k), 0)
    return cast(F32, cv2.resize(blurred, (cw, ch), interpolation=cv2.INTER_LINEAR))


def _window(a: F32, y: int, x: int, h: int, w: int) -> F32:
    """``a[y : y + h, x : x + w]``, zero where the window leaves ``a``."""
    if y >= 0 and x >= 0 and y + h <= a.shape[0] and x + w <= a.shape[1]:
        return a[y : y + h, x : x + w]
    out = np.zeros((h, w, *a.shape[2:]), a.dtype)
    y0, x0 = max(0, y), max(0, x)
    y1, x1 = min(a.shape[0], y + h), min(a.shape[1], x + w)
    if y0 < y1 and x0 < x1:
        out[y0 - y : y1 - y, x0 - x : x1 - x] = a[y0:y1, x0:x1]
    return out


def _three(a: F32) -> F32:
    return cast(F32, cv2.merge([a, a, a]))


def render(scene: Scene, state: CameraState, rng: np.random.Generator) -> U8:
    """The RGB uint8 view of ``scene`` in ``state`` (noise drawn from ``rng``)."""
    h, w, m = scene.height, scene.width, scene.margin
    vy, vx = m + state.shift[1], m + state.shift[0]
    canvas = scene.with_items(state.items)
    view = canvas[vy : vy + h, vx : vx + w]
    if state.hand is not None:
        hand = _hand_mask(scene, state.hand, state.hand_from)
        shadow = _soft_shadow(scene, hand)
        sy, sx = h // 25, w // 40  # the shadow falls a little right and down
        alpha = hand[vy : vy + h, vx : vx + w]
        shade = _window(shadow, vy - sy, vx - sx, h, w)
        keep = (1.0 - 0.35 * shade) * (1.0 - alpha)  # what is left of the scene
        view = cast(
            F32,
            cv2.add(
                cv2.multiply(view, _three(keep)),
                cv2.multiply(scene.skin[vy : vy + h, vx : vx + w], _three(alpha)),
            ),
        )
    gain = np.diag(np.asarray(state.gain, np.float32) * np.float32(state.exposure))
    if state.daylight or state.shadow:
        light = 1.0 + np.float32(state.daylight) * scene.daylight_field
        if state.shadow:
            light *= 1.0 - np.float32(0.45 * state.shadow) * scene.shadow_field
        view = cast(F32, cv2.multiply(view, _three(light.astype(np.float32))))
    # Exposure and white balance: one per-channel gain (a 3x3 diagonal colour transform).
    out = cast(F32, cv2.transform(view, gain))
    if state.offset:
        out += np.float32(state.offset)
    if state.cover > 0.0:
        a = float(state.cover)
        out = cast(F32, cv2.addWeighted(out, 1.0 - a, scene.cover_tex, a, 0.0))
    if state.noise > 0.0:
        noise = scene.noise_field(rng)
        ox, oy, flip = (int(v) for v in rng.integers(0, [_NOISE_PAD + 1, _NOISE_PAD + 1, 2]))
        sigma = float(state.noise) * (1.0 if flip else -1.0)
        out = cast(F32, cv2.scaleAdd(noise[oy : oy + h, ox : ox + w], sigma, out))
    np.clip(out, 0.0, 255.0, out=out)
    return out.astype(np.uint8)

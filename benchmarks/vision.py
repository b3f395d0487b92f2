"""Cost of the vision pipeline per frame against the JPEG decode alone.

For VGA (640x480) and UXGA (1600x1200) synthetic shelf frames (shelfcam.sim, JPEG quality
80, a hand in view), measures in one run, interleaved, the median wall time of

* decode alone: ``decode_gray`` at analysis scale (the denominator), and
* decode plus every score: ``decode_gray`` + ``make_frame`` + ``analyze`` with a previous
  frame, a baseline, a reference, an empty reference (all cached `Frame` objects, as the
  worker keeps them) and the anchors of the watched change that the engine asks for on
  that frame (found by running the engine over the scene first: the previous frame while
  the hand moves, an older one once a change has settled),

and prints the ratio. Last line: ``vision_ratio_vga=<x> vision_ratio_uxga=<x>``.

Run: ``uv run python benchmarks/vision.py`` (about 30 s). On a shared machine the figures
move with the neighbours' load: ``--runs 5`` repeats the whole measurement and reports the
median of the runs' ratios on the last line (each run's line is printed too).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import timedelta

import cv2

from shelfcam.analysis.pipeline import decide
from shelfcam.engine import EngineConfig, EngineState
from shelfcam.sim.offline import EPOCH
from shelfcam.sim.render import INTERACTION_ROI, INVENTORY_ROI
from shelfcam.sim.scenes import generate
from shelfcam.vision import Frame, Rois, analyze, decode_gray, frame_from_jpeg, make_frame

ROUNDS = 400


def anchors_asked(frames: list[bytes], rois: Rois, fps: float) -> list[list[int]]:
    """For each frame, the frames (by index) the engine compares a watched change with."""
    state, asked = EngineState(), []
    kept: dict[str, Frame] = {}
    for i, data in enumerate(frames):
        asked.append([int(c) for c in state.anchors()])
        cur = frame_from_jpeg(data)
        when = EPOCH + timedelta(seconds=i / fps)
        _scores, out = decide(
            cur,
            str(i),
            when,
            state,
            kept,
            reference=None,
            empty_ref=None,
            rois=rois,
            config=EngineConfig(1),
        )
        state = out.state
        kept[str(i)] = cur
        kept = {k: v for k, v in kept.items() if k in state.referenced_captures()}
    return asked


def measure(width: int, height: int, rounds: int) -> tuple[float, float, tuple[int, int]]:
    sc = generate("take_item", seed=1, width=width, height=height, fps=2.0)
    frames = list(sc.frames)
    rois = Rois(INTERACTION_ROI, INVENTORY_ROI)
    baseline = frame_from_jpeg(frames[0])
    reference = baseline
    empty_ref = frame_from_jpeg(sc.empty_reference)
    # Frames with the hand in view: every score does real work.
    hand = next(p for p in sc.labels["phases"] if p["kind"] == "hand")
    picks = list(range(hand["start_frame"], hand["end_frame"]))
    prevs: dict[int, Frame] = {i: frame_from_jpeg(frames[i - 1]) for i in picks}
    asked = anchors_asked(frames, rois, sc.fps)
    decoded = {j: frame_from_jpeg(frames[j]) for i in picks for j in asked[i]}
    anchors = {i: [decoded[j] for j in asked[i]] for i in picks}
    shape = decode_gray(frames[picks[0]]).shape

    dec: list[float] = []
    full: list[float] = []
    for r in range(rounds):
        i = picks[r % len(picks)]
        data = frames[i]
        t0 = time.perf_counter()
        decode_gray(data)
        t1 = time.perf_counter()
        cur = make_frame(decode_gray(data))
        analyze(
            cur,
            prev=prevs[i],
            baseline=baseline,
            reference=reference,
            empty_ref=empty_ref,
            rois=rois,
            anchors=anchors[i],
        )
        t2 = time.perf_counter()
        dec.append(t1 - t0)
        full.append(t2 - t1)
    return statistics.median(dec), statistics.median(full), (shape[1], shape[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat the measurement")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {cv2.getNumberOfCPUs()} cores, "
        f"python {platform.python_version()}, opencv {cv2.__version__}"
    )
    sizes = {"vga": (640, 480), "uxga": (1600, 1200)}
    ratios: dict[str, list[float]] = {label: [] for label in sizes}
    for run in range(args.runs):
        for label, (w, h) in sizes.items():
            measure(w, h, 20)  # warm-up (caches, lazy imports)
            dec, full, size = measure(w, h, ROUNDS)
            ratios[label].append(full / dec)
            print(
                f"run {run + 1}: {label}: {w}x{h} -> analysis {size[0]}x{size[1]}: "
                f"decode {dec * 1e6:.0f} us, decode+frame+analyze {full * 1e6:.0f} us, "
                f"ratio {full / dec:.2f}"
            )
    if args.runs > 1:
        for label, values in ratios.items():
            print(f"{label}: runs {' '.join(f'{r:.2f}' for r in values)}")
    vga = statistics.median(ratios["vga"])
    uxga = statistics.median(ratios["uxga"])
    print(f"vision_ratio_vga={vga:.2f} vision_ratio_uxga={uxga:.2f}")


if __name__ == "__main__":
    main()

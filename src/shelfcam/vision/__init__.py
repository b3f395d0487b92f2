"""Pure image analysis: numpy arrays in, scores out (no files, database or clock).

Typical use, once per incoming JPEG::

    cur = frame_from_jpeg(data)
    scores = analyze(cur, prev=prev, baseline=baseline, reference=reference,
                     empty_ref=empty_ref, rois=Rois(interaction=..., inventory=...))
    prev = cur

See docs/vision.md for every score's scale and the threshold that judges it. ROI polygons are
`shelfcam.vision.polygons.Polygon` values (re-exported here with `FULL_FRAME`); validate user input
with `shelfcam.vision.polygons.parse` / ``validate``.
"""

from shelfcam.vision.decode import decode_gray, decode_rgb, encode_jpeg
from shelfcam.vision.delta import DeltaResult, empty_similarity, inventory_delta
from shelfcam.vision.frame import Frame, frame_from_jpeg, make_frame
from shelfcam.vision.health import Shift, obstruction, scene_shift, sharpness
from shelfcam.vision.lighting import LightingResult, lighting_change
from shelfcam.vision.motion import MotionResult, motion_scores
from shelfcam.vision.overlay import blur_outside, draw_regions
from shelfcam.vision.roi import FULL_FRAME, Polygon, Region, RoiMask, Rois, roi_mask
from shelfcam.vision.scores import FrameScores, analyze

__all__ = [
    "FULL_FRAME",
    "DeltaResult",
    "Frame",
    "FrameScores",
    "LightingResult",
    "MotionResult",
    "Polygon",
    "Region",
    "RoiMask",
    "Rois",
    "Shift",
    "analyze",
    "blur_outside",
    "decode_gray",
    "decode_rgb",
    "draw_regions",
    "empty_similarity",
    "encode_jpeg",
    "frame_from_jpeg",
    "inventory_delta",
    "lighting_change",
    "make_frame",
    "motion_scores",
    "obstruction",
    "roi_mask",
    "scene_shift",
    "sharpness",
]

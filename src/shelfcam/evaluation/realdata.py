"""The real-footage cases, built by the acceptance tools beside the checkout.

``../shared/tools/realdata/make_cases.py`` turns the footage in ``SHELFCAM_REAL_DATA``
into cases (frames in upload order, the frame rate, the device's ROIs and what a correct
system records); `build` runs it and reads them, so ``shelfcam eval real``, the test suite
and the acceptance check (``check.py`` there) judge the same cases, the same way. The
tools are found beside the footage (``<footage>/../../tools/realdata``) unless
``SHELFCAM_REALDATA_TOOLS`` names their folder.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from shelfcam.errors import InvalidInput
from shelfcam.evaluation.expectations import Expectation
from shelfcam.evaluation.suites import Case, real_data_dir
from shelfcam.vision.polygons import Polygon

MAKE_CASES = "make_cases.py"
BUILD_LIMIT_S = 600


def tools_dir() -> Path:
    """Where make_cases.py is (see the module docstring)."""
    named = os.environ.get("SHELFCAM_REALDATA_TOOLS")
    if named:
        return Path(named)
    return real_data_dir().resolve().parent.parent / "tools" / "realdata"


def build(out: Path) -> list[Case]:
    """Write the cases into ``out`` with make_cases.py and read them back."""
    footage, tools = real_data_dir(), tools_dir()
    script = tools / MAKE_CASES
    if not footage.is_dir():
        raise InvalidInput(f"no real footage at {footage}: set SHELFCAM_REAL_DATA to its folder")
    if not script.is_file():
        raise InvalidInput(
            f"no {MAKE_CASES} at {tools}: set SHELFCAM_REALDATA_TOOLS to the folder of the "
            "real-footage acceptance tools"
        )
    done = subprocess.run(
        [sys.executable, str(script), str(footage), str(out)],
        capture_output=True,
        text=True,
        timeout=BUILD_LIMIT_S,
        check=False,
    )
    if done.returncode != 0:
        raise InvalidInput(f"{MAKE_CASES} failed: {done.stderr.strip()[-500:]}")
    return read(out / "cases.json")


def read(cases_json: Path) -> list[Case]:
    """The cases of a cases.json (see the module docstring)."""
    raw: dict[str, dict[str, Any]] = json.loads(cases_json.read_text())
    return [_case(name, spec) for name, spec in raw.items()]


def device_name(case_name: str) -> str:
    """The device a case is sent as: the acceptance check's name for it."""
    return re.sub(r"[^a-z0-9-]", "-", case_name.lower())[:60]


def _polygon(points: list[list[float]]) -> Polygon:
    return tuple((float(x), float(y)) for x, y in points)


def _case(name: str, spec: dict[str, Any]) -> Case:
    folder = Path(spec["dir"])
    files = sorted(p for p in folder.iterdir() if p.suffix == ".jpg")
    return Case(
        name=device_name(name),
        fps=float(spec["fps"]),
        frames=[p.read_bytes() for p in files],
        interaction_roi=_polygon(spec["interaction_roi"]),
        inventory_roi=_polygon(spec["inventory_roi"]),
        exact=False,
        expectations=tuple(Expectation.from_json(e) for e in spec["expect"]),
        note=str(spec.get("note", "")),
    )

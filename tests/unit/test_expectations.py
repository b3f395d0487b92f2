"""The real-footage verdicts are the acceptance check's: the same expectations, events and
frame numbers get the same verdict from `shelfcam.evaluation.expectations.judge` as from
check.py's own ``check`` (read from the tools beside the checkout)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shelfcam.evaluation import realdata
from shelfcam.evaluation.expectations import Expectation, Recorded, judge

CHECK = realdata.tools_dir() / "check.py"
pytestmark = pytest.mark.skipif(
    not CHECK.is_file(), reason=f"no acceptance check at {CHECK} (SHELFCAM_REALDATA_TOOLS)"
)
T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
FPS = 2.0


def _their_check() -> Callable[..., tuple[bool, list[str]]]:
    """check.py's ``check`` and its helpers, without running the script."""
    tree = ast.parse(CHECK.read_text())
    keep: list[ast.stmt] = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and n.name in {"boxes", "overlap", "check"}
    ]
    space: dict[str, Any] = {}
    exec(compile(ast.Module(keep, []), str(CHECK), "exec"), space)
    found: Callable[..., tuple[bool, list[str]]] = space["check"]
    return found


def _event(
    kind: str, frame: int, region: dict[str, float] | None = None, post: str = ""
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "regions": [region] if region else [],
        "captures": {"post_capture_id": post},
    }
    return {
        "type": kind,
        "started": (T0 + timedelta(seconds=frame / FPS)).timestamp(),
        "details": details,
    }


BOTTLE = {"x": 0.1, "y": 0.3, "w": 0.1, "h": 0.5}
ELSEWHERE = {"x": 0.7, "y": 0.1, "w": 0.1, "h": 0.1}
CASES = [
    ([{"type": "stock_changed", "min": 1, "max": 2}], [_event("stock_changed", 5)]),
    ([{"type": "stock_changed", "min": 1, "max": 2}], []),
    ([{"type": "scene_shifted", "max": 0}], [_event("scene_shifted", 3)]),
    (
        [{"type": "stock_changed", "min": 1, "overlaps": [0.1, 0.3, 0.2, 0.8]}],
        [_event("stock_changed", 5, BOTTLE)],
    ),
    (
        [{"type": "stock_changed", "min": 1, "overlaps": [0.1, 0.3, 0.2, 0.8]}],
        [_event("stock_changed", 5, ELSEWHERE)],
    ),
    (
        [{"type": "stock_changed", "min": 1, "post_seq_min": 8}],
        [_event("stock_changed", 5, post="c9")],
    ),
    (
        [{"type": "stock_changed", "min": 1, "post_seq_min": 8}],
        [_event("stock_changed", 5, post="c4")],
    ),
    (
        [{"type": "interaction_detected", "min": 1, "started_seq_min": 4, "started_seq_max": 6}],
        [_event("interaction_detected", 5)],
    ),
    (
        [{"type": "interaction_detected", "min": 1, "started_seq_min": 4, "started_seq_max": 6}],
        [_event("interaction_detected", 9)],
    ),
]


@pytest.mark.parametrize(("expect", "events"), CASES)
def test_the_same_verdict_as_the_acceptance_check(
    expect: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    seqmap = {f"c{i}": i for i in range(20)}
    times = [
        (int((T0 + timedelta(seconds=i / FPS)).timestamp() * 1000), 0.0, 201) for i in range(20)
    ]
    theirs, _why = _their_check()({"expect": expect}, events, seqmap, {"times": times})
    ours = judge(
        [Expectation.from_json(e) for e in expect],
        [
            Recorded(e["type"], datetime.fromtimestamp(e["started"], UTC), e["details"])
            for e in events
        ],
        seqmap,
        [T0 + timedelta(seconds=i / FPS) for i in range(20)],
    )
    assert ours.ok == theirs, ours.why

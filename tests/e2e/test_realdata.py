"""The real-footage acceptance cases, end to end: built by make_cases.py beside the checkout,
sent over HTTP to a live shelfcam as cameras send them (their ROIs, frame rates and capture
times; queue, worker, PostgreSQL), and judged as the acceptance check judges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shelfcam.evaluation import realdata, report, runner
from shelfcam.evaluation.suites import real_data_dir

pytestmark = pytest.mark.skipif(
    not (real_data_dir().is_dir() and (realdata.tools_dir() / realdata.MAKE_CASES).is_file()),
    reason=f"real footage or its acceptance tools not found ({real_data_dir()}, "
    f"{realdata.tools_dir()}): set SHELFCAM_REAL_DATA / SHELFCAM_REALDATA_TOOLS",
)


def test_every_real_footage_case_gives_what_a_person_would_record(tmp_path: Path) -> None:
    cases = realdata.build(tmp_path / "cases")
    assert cases, "make_cases.py wrote no case"
    assert all(case.expectations for case in cases)
    evaluated = runner.run(cases, lambda line: None)
    lines, all_pass = report.render_real(evaluated)
    assert all_pass, "\n".join(lines)
    assert lines[-1].startswith(f"realdata: {len(cases)}/{len(cases)} cases pass")

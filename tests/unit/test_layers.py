"""The pure core stays pure: src/shelfcam/ruff.toml bans I/O imports everywhere but in the
shell modules it lists (docs/architecture.md, "Layers"). Checked here through ruff itself,
on code given as if it were a new module in each place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO = "import os\nimport psycopg\nfrom shelfcam.db import types\n\nprint(os, psycopg, types)\n"


def banned_imports(module: str, code: str = IO) -> int:
    """How many banned imports ruff finds in ``code`` as the module at ``module``."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "TID251",
            "--output-format",
            "concise",
            "--stdin-filename",
            module,
            "-",
        ],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return sum("TID251" in line for line in result.stdout.splitlines())


@pytest.mark.parametrize(
    "module",
    [
        "src/shelfcam/vocabulary_extra.py",
        "src/shelfcam/vision/new_score.py",
        "src/shelfcam/engine/new_rule.py",
        "src/shelfcam/analysis/pipeline.py",
        "src/shelfcam/analysis/new_stage.py",
        "src/shelfcam/retention/plan.py",
        "src/shelfcam/tuning/judge.py",
        "src/shelfcam/activity/explain.py",
        "src/shelfcam/frames/layout.py",
        "src/shelfcam/web/formatting.py",
        "src/shelfcam/web/new_helper.py",
    ],
)
def test_io_is_refused_in_the_pure_core(module: str) -> None:
    assert banned_imports(module) == 3


@pytest.mark.parametrize(
    "module",
    [
        "src/shelfcam/analysis/worker.py",
        "src/shelfcam/db/events.py",
        "src/shelfcam/frames/files.py",
        "src/shelfcam/web/api/events.py",
        "src/shelfcam/retention/runner.py",
    ],
)
def test_the_shell_may_do_io(module: str) -> None:
    assert banned_imports(module) == 0


def test_every_shell_module_listed_exists() -> None:
    """A listed shell module that was renamed would leave its new name guarded by mistake
    (and the old pattern matching nothing): every pattern must match a file."""
    text = (ROOT / "src" / "shelfcam" / "ruff.toml").read_text()
    patterns = [line.split('"')[1] for line in text.splitlines() if line.startswith('"./')]
    assert patterns
    package = ROOT / "src" / "shelfcam"
    for pattern in patterns:
        for glob in _alternatives(pattern.removeprefix("./")):
            assert list(package.glob(glob)), (pattern, glob)


def _alternatives(pattern: str) -> list[str]:
    """The globs a ``{a,b}`` pattern stands for."""
    if "{" not in pattern:
        return [pattern]
    head, rest = pattern.split("{", 1)
    choices, tail = rest.split("}", 1)
    return [alt for choice in choices.split(",") for alt in _alternatives(head + choice + tail)]

"""The curl examples of docs/api.md ("Examples with curl"), run against a live server: each
command's output must match the answer the page shows under it."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.apps import new_device
from tests.e2e.live_server import live_server
from tests.jpegs import jpeg

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
VARYING = {"capture_id", "received_at"}


def _examples() -> list[tuple[str, str, str]]:
    """(shell commands, kind of answer, answer shown) in the order of the page."""
    text = DOC.read_text()
    start = text.index("\n## Examples with curl\n")
    section = text[start : text.index("\n## ", start + 5)]
    blocks = re.findall(r"```(\w*)\n(.*?)\n```", section, re.DOTALL)
    examples = []
    for (kind, code), (answer_kind, answer) in itertools.pairwise(blocks):
        if kind == "sh" and "curl " in code:
            assert answer_kind in {"json", ""}, code
            examples.append((code, answer_kind or "http", answer))
    return examples


def _http(text: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """Status line, headers (lower-case names) and JSON body of an HTTP answer."""
    head, _, body = text.replace("\r\n", "\n").strip().partition("\n\n")
    status, *lines = head.split("\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status.strip(), headers, json.loads(body)


def test_the_pages_examples_are_there() -> None:
    kinds = [kind for _code, kind, _answer in _examples()]
    assert kinds.count("json") >= 4 and "http" in kinds


def test_curl_examples_answer_as_documented(db_url: str, tmp_path: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    token = asyncio.run(new_device(db_url, "pantry"))
    (tmp_path / "frame.jpg").write_bytes(jpeg(seed=21))
    ids: dict[str, str] = {}  # capture_id on the page -> the one the server gave
    with live_server(db_url, tmp_path / "data") as url:
        env = {**os.environ, "SHELFCAM": url, "TOKEN": token}
        for code, kind, shown in _examples():
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            if kind == "http":
                status, headers, body = _http(done.stdout)
                want_status, want_headers, want_body = _http(shown)
                assert status == want_status, code
                for name, value in want_headers.items():
                    assert headers.get(name) == value, (code, name)
                assert body == want_body, code
                continue
            got, want = json.loads(done.stdout), json.loads(shown)
            assert set(got) == set(want), code
            assert {k: v for k, v in got.items() if k not in VARYING} == {
                k: v for k, v in want.items() if k not in VARYING
            }, code
            # The same capture on the page is the same capture on the server (the retry).
            assert ids.setdefault(want["capture_id"], got["capture_id"]) == got["capture_id"]
    assert len(set(ids.values())) == len(ids) == 3

"""Ingest over real sockets: the hand-written multipart of the most copied ESP32-CAM
sketch, and schemathesis exploring the OpenAPI schema for undocumented answers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.apps import count, files_under, new_device
from tests.e2e.live_server import live_server
from tests.jpegs import jpeg

BOUNDARY = "RandomNerdTutorials"


def _esp32_sketch_upload(url: str, token: str, frame: bytes, query: str) -> tuple[int, bytes]:
    """What the common ESP32-CAM sketch sends, byte for byte: println() lines, the
    multipart head and tail as fixed strings, the image written in 1024-byte chunks."""
    parts = urlsplit(url)
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="imageFile"; '
        'filename="esp32-cam.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    total = len(head) + len(frame) + len(tail)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        for line in (
            f"POST /api/v1/ingest/frame?{query} HTTP/1.1",
            f"Host: {parts.hostname}",
            f"X-API-Key: {token}",
            f"Content-Length: {total}",
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
            "",
        ):
            sock.sendall(line.encode() + b"\r\n")
        sock.sendall(head)
        for start in range(0, len(frame), 1024):
            sock.sendall(frame[start : start + 1024])
        sock.sendall(tail)
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(4096)
        header, _, body = response.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        while len(body) < length:
            body += sock.recv(4096)
    status = int(header.split(b" ")[1])
    return status, body


def test_the_common_esp32_sketch_upload_works(db_url: str, tmp_path: Path) -> None:
    token = asyncio.run(new_device(db_url, "esp32"))
    frame = jpeg(seed=4)
    data_dir = tmp_path / "data"
    with live_server(db_url, data_dir) as url:
        status, body = _esp32_sketch_upload(url, token, frame, "seq=1&boot=a1b2&rssi=-70")
        again, body2 = _esp32_sketch_upload(url, token, frame, "seq=1&boot=a1b2&rssi=-70")
    assert status == 201, body
    assert again == 200
    assert json.loads(body)["capture_id"] == json.loads(body2)["capture_id"]
    stored = files_under(data_dir / "staging")
    assert len(stored) == 1
    assert stored[0].read_bytes() == frame
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT device_seq, boot_id, meta FROM captures").fetchone()
    assert row == (1, "a1b2", {"rssi": -70})


@pytest.fixture
def fuzz_token(db_url: str) -> str:
    return asyncio.run(new_device(db_url, "fuzz"))


@pytest.fixture
def live_schema(db_url: str, tmp_path: Path, fuzz_token: str) -> Iterator[OpenApiSchema]:
    with live_server(db_url, tmp_path / "data", rate_limit_burst=1000) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_only_documented_statuses(
    live_schema: OpenApiSchema, fuzz_token: str, mode: GenerationMode
) -> None:
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [
        result.ok() for result in live_schema.get_all_operations() if isinstance(result, Ok)
    ]
    assert any(op.path == "/api/v1/ingest/frame" for op in operations)
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not operation.query:
            continue  # nothing to make invalid in an operation without parameters

        @settings(
            max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def explore(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers={"X-API-Key": fuzz_token}, checks=checks)

        explore()


def test_fuzzing_left_no_orphans(db_url: str, tmp_path: Path) -> None:
    """Every staging file written during a burst of bad and good uploads has its row."""
    token = asyncio.run(new_device(db_url, "fuzz2"))
    data_dir = tmp_path / "data"
    good = jpeg(seed=9)
    with live_server(db_url, data_dir) as url:
        for i, payload in enumerate([good, good[:-10], b"junk", good, good[:100]]):
            _esp32_sketch_upload(url, token, payload, f"seq={i}")
    assert count(db_url, "SELECT count(*) FROM captures") == 2
    assert len(files_under(data_dir / "staging")) == 2

"""docs/api.md says what the ingest code does: its statuses, parameters, error codes and
response fields, checked against the OpenAPI schema and the source of the ingest path."""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shelfcam import errors
from shelfcam.config import Settings, load_settings
from shelfcam.db import connect
from shelfcam.frames import objects
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.objects import S3FrameStore
from shelfcam.ingest import auth, body, directives, jpeg, metadata, ratelimit, service
from shelfcam.web import errors as web_errors
from shelfcam.web import ingest as web_ingest
from shelfcam.web.app import create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
INGEST_PATH = "/api/v1/ingest/frame"
# The ingest modules, and what they call that raises on its own: the database boundary
# (service and auth run their queries in translate_errors_async), the frame stores' writes
# (files, and an S3 bucket's, whose failures `_unavailable` builds), and the handler of
# unexpected exceptions.
SOURCES: list[ModuleType | Callable[..., Any]] = [
    auth,
    body,
    directives,
    jpeg,
    metadata,
    ratelimit,
    service,
    web_ingest,
    connect._unavailable,
    FileFrameStore.put,
    S3FrameStore.put,
    objects._unavailable,
    web_errors._unexpected,
]

META_FIELDS = [
    metadata.SEQ,
    metadata.BOOT,
    metadata.CAPTURED_AT,
    metadata.RSSI,
    metadata.HEAP,
    metadata.UPTIME,
    metadata.FIRMWARE,
]

_ROW = re.compile(r"^\| (\d{3}) \| `([a-z_]+)` \|", re.MULTILINE)


def _doc() -> str:
    return DOC.read_text()


def _section(title: str) -> str:
    text = _doc()
    start = text.index(f"\n{title}\n")
    end = text.find("\n## ", start + len(title) + 2)
    return text[start : end if end != -1 else len(text)]


def _operation() -> dict[str, Any]:
    app = create_app(load_settings(), "postgresql://nobody@127.0.0.1:1/none")
    operation: dict[str, Any] = app.openapi()["paths"][INGEST_PATH]["post"]
    return operation


def _error_table() -> dict[str, int]:
    """error code -> status, from the table under "### Errors"."""
    rows = _ROW.findall(_section("### Errors"))
    assert rows, "no error table found"
    codes = [code for _status, code in rows]
    assert len(codes) == len(set(codes)), "an error code is listed twice"
    return {code: int(status) for status, code in rows}


def _shelfcam_errors() -> dict[str, type[errors.ShelfcamError]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.ShelfcamError)
    }


def _produced(tree: ast.AST) -> dict[str, int]:
    """Error code -> status of every ShelfcamError constructed in ``tree``, and of every
    ``error_body("code", ...)`` (the catch-all handler's answers, all 500)."""
    classes = _shelfcam_errors()
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        name = node.func.id
        if name == "error_body" and isinstance(node.args[0], ast.Constant):
            found[str(node.args[0].value)] = 500
        if name not in classes:
            continue
        cls = classes[name]
        code = cls.code
        for keyword in node.keywords:
            if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                code = str(keyword.value.value)
        found[code] = cls.status
    return found


def _producible() -> dict[str, int]:
    found: dict[str, int] = {}
    for source in SOURCES:
        found.update(_produced(ast.parse(inspect.getsource(source).lstrip())))
    return found


def test_the_ingest_path_is_scanned_where_its_errors_come_from() -> None:
    # The indirect sources are really on the ingest path.
    service_source = inspect.getsource(service)
    assert "translate_errors_async()" in service_source
    assert "translate_errors_async()" in inspect.getsource(auth)
    assert "self.store.put,\n            layout.staging_uri(" in service_source
    assert "self.location.key_of(uri)" in inspect.getsource(S3FrameStore.put)
    produced = _producible()
    # A sample of what the scan must find, so a broken scan cannot pass as "no codes".
    assert produced["bad_metadata"] == 400
    assert produced["missing_image"] == 400
    assert produced["rate_limited"] == 429
    assert produced["database_unavailable"] == 503
    assert produced["storage_error"] == 500
    assert produced["store_unavailable"] == 503
    assert produced["internal_error"] == 500


def test_documented_error_codes_are_the_ones_ingest_produces() -> None:
    documented = _error_table()
    produced = _producible()
    assert sorted(documented) == sorted(produced)
    assert documented == produced  # and each with the status the code answers


def test_every_status_of_the_schema_and_the_code_is_documented() -> None:
    text = _doc()
    schema_statuses = {int(status) for status in _operation()["responses"]}
    assert {200, 201, 400, 401, 413, 415, 422, 429, 503, 507} <= schema_statuses
    documented = set(_error_table().values()) | {
        int(s) for s in re.findall(r"^### (\d{3}) ", text, re.MULTILINE)
    }
    documented |= {int(s) for s in re.findall(r"^### \d{3} \w+ and (\d{3}) ", text, re.MULTILINE)}
    assert schema_statuses <= documented
    assert set(_producible().values()) <= documented


def test_every_error_example_is_a_documented_code_under_its_status() -> None:
    table = _error_table()
    examples = _section("### Errors").split("```")[1]  # the block of recorded answers
    status = 0
    seen: set[str] = set()
    for line in examples.splitlines():
        if line.startswith("HTTP/1.1 "):
            status = int(line.split()[1])
        elif line.startswith("{"):
            answer = json.loads(line)
            assert set(answer) == {"error", "detail"}
            assert table[answer["error"]] == status, line
            seen.add(answer["error"])
    assert len(seen) >= 8


def test_every_parameter_is_documented() -> None:
    text = _doc()
    lowered = text.lower()
    parameters = [p["name"] for p in _operation()["parameters"]]
    assert {"seq", "boot", "captured_at", "X-API-Key", "Authorization"} <= set(parameters)
    for name in parameters:
        assert f"`{name.lower()}" in lowered, name
    for query, header in META_FIELDS:
        assert f"| `{query}` | `{header}` |" in lowered, (query, header)


@pytest.mark.parametrize("field", META_FIELDS)
def test_metadata_table_lists_each_field_once(field: tuple[str, str]) -> None:
    rows = [
        line
        for line in _section("## Metadata: query parameters or headers").splitlines()
        if line.lower().startswith(f"| `{field[0]}` |")
    ]
    assert len(rows) == 1


def test_documented_examples_are_valid_metadata() -> None:
    """The forms the metadata table shows as accepted are accepted."""
    section = _section("## Metadata: query parameters or headers")
    row = next(line for line in section.splitlines() if line.startswith("| `captured_at`"))
    stamps = re.findall(r"`(\d{4}-[^`]+|\d{10,15})`", row)
    assert len(stamps) == 4
    for stamp in stamps:
        assert metadata.parse_meta({"captured_at": stamp}, {}).captured_at is not None


def test_response_fields_and_examples_match_the_model() -> None:
    fields = set(web_ingest.IngestResponse.model_fields)
    table = _section("### 201 Created and 200 OK")
    for field in fields:
        assert f"| `{field}` |" in table, field
    blocks = re.findall(r"```json\n(.*?)\n```", _doc(), re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        assert set(json.loads(block)) == fields


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


def test_the_documented_limits_are_the_settings_defaults() -> None:
    limits = _section("## Limits")
    assert f"| {_default('max_frame_bytes') // (1024 * 1024)} MiB |" in limits
    assert f"| {_default('rate_limit_fps'):g} frames/s sustained" in limits
    assert f"bursts of {_default('rate_limit_burst')} |" in limits
    assert f"| {_default('min_free_disk_mb')} MiB |" in limits
    answers = _section("### 201 Created and 200 OK")
    assert f"({_default('idle_interval_ms')}) when idle" in answers
    assert f"({_default('burst_interval_ms')}) in burst" in answers

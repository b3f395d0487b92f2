"""Log lines stay one record per line with the fields the call site meant, whatever a
client put in a value (a user name, an address, a header)."""

from __future__ import annotations

import logging
import re
import sys

import pytest

from shelfcam import logs

HOSTILE = [
    "admin\n2026-12-07T00:00:00.000Z level=ERROR logger=shelfcam.web action=forged",
    "a b=c d",
    'quote" addr=1.2.3.4',
    "back\\slash",
    "",
    "cr\rlf",
    "nel\x85ls\u2028ps\u2029",
    "del\x7fnul\x00esc\x1b[31m",
    "tab\there",
]

_FIELD = re.compile(r'([a-z_]+)=("(?:[^"\\]|\\.)*"|\S*)')


def _unescape(value: str) -> str:
    if not value.startswith('"'):
        return value
    body = value[1:-1]
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
            continue
        out.append({"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt))
        i += 2
    return "".join(out)


def fields(line: str) -> dict[str, str]:
    """A logfmt line's fields (quoted values unescaped)."""
    return {key: _unescape(value) for key, value in _FIELD.findall(line)}


def _format(msg: str, *args: object, exc: BaseException | None = None) -> str:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord("shelfcam.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    return logs.formatter().format(record)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_stays_one_field_of_one_line(value: str) -> None:
    line = _format("action=login_failed user=%s addr=%s", value, "203.0.113.7")
    assert len(line.splitlines()) == 1, line
    assert "\n" not in line and "\r" not in line
    found = fields(line)
    assert found["user"] == value
    assert found["addr"] == "203.0.113.7"
    assert found["action"] == "login_failed"
    assert found["level"] == "WARNING"
    assert list(found) == ["level", "logger", "action", "user", "addr"]


def test_plain_values_and_numbers_are_written_as_they_are() -> None:
    line = _format("action=x device=%s bytes=%d ratio=%.2f ok=%s", "cam1", 1234, 0.5, True)
    assert line.endswith("action=x device=cam1 bytes=1234 ratio=0.50 ok=True")


def test_repr_arguments_are_escaped() -> None:
    line = _format("action=x value=%r", "a\nb")
    assert len(line.splitlines()) == 1
    assert line.endswith("value='a\\nb'")


def test_a_message_built_by_a_library_is_kept_on_one_line() -> None:
    line = _format("first\nlevel=ERROR second")
    assert len(line.splitlines()) == 1
    assert "first\\nlevel=ERROR second" in line


def test_a_traceback_cannot_start_a_line() -> None:
    try:
        raise ValueError("bad\n2026-12-07T00:00:00.000Z level=ERROR action=forged")
    except ValueError as err:
        line = _format("action=failed error=%s", type(err).__name__, exc=err)
    first, *rest = line.splitlines()
    assert fields(first)["action"] == "failed"
    assert rest, "the traceback follows"
    assert all(extra.startswith(logs.CONTINUATION) for extra in rest), rest


def test_configure_uses_the_safe_format(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("INFO")
        logging.getLogger("shelfcam.test").warning("action=x user=%s", HOSTILE[0])
        sys.stderr.flush()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert fields(err)["user"] == HOSTILE[0]


def test_fields_built_by_shelfcam_are_written_as_they_are() -> None:
    line = _format("action=retention_done %s", logs.Fields("dry_run=false files=3"))
    assert line.endswith("action=retention_done dry_run=false files=3")
    assert fields(line)["files"] == "3"

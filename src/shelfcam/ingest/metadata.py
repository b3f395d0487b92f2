"""Frame metadata from headers or query parameters (firmware finds the query easiest)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shelfcam.errors import InvalidInput

MAX_SEQ = 2**63 - 1
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
RFC3339_PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)"
CAPTURED_AT_PATTERN = rf"^(\d{{1,15}}|{RFC3339_PATTERN})$"
"""Every form of captured_at that may be accepted (the OpenAPI schema shows it)."""
_RFC3339 = re.compile(RFC3339_PATTERN)
_BOOT = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_FIRMWARE = re.compile(r"[\x20-\x7e]{1,64}")

# (query parameter, header) pairs; the query parameter wins when both are present.
SEQ = ("seq", "x-device-seq")
BOOT = ("boot", "x-boot-id")
CAPTURED_AT = ("captured_at", "x-captured-at")
RSSI = ("rssi", "x-rssi")
HEAP = ("heap", "x-heap")
UPTIME = ("uptime", "x-uptime")
FIRMWARE = ("firmware", "x-firmware")


@dataclass(frozen=True)
class FrameMeta:
    device_seq: int | None = None
    boot_id: str = ""
    captured_at: datetime | None = None
    health: dict[str, Any] = field(default_factory=dict)


def _bad(name: str, expected: str) -> InvalidInput:
    return InvalidInput(f"{name} must be {expected}", code="bad_metadata")


def _pick(
    query: Mapping[str, str], headers: Mapping[str, str], names: tuple[str, str]
) -> tuple[str, str | None]:
    param, header = names
    if param in query:
        return param, query[param]
    return header, headers.get(header)


def _integer(name: str, text: str, low: int, high: int) -> int:
    if not re.fullmatch(r"-?\d{1,19}", text.strip()):
        raise _bad(name, f"an integer between {low} and {high}")
    value = int(text)
    if not low <= value <= high:
        raise _bad(name, f"an integer between {low} and {high}")
    return value


def parse_timestamp(name: str, text: str) -> datetime:
    """RFC 3339 (``2026-11-26T10:00:00.123Z``) or epoch milliseconds (``1795687200123``),
    from 1970 up to the end of year 9999 (UTC)."""
    text = text.strip()
    if re.fullmatch(r"\d{1,15}", text):
        millis = int(text)
        if millis > MAX_EPOCH_MS:
            raise _bad(name, f"epoch milliseconds up to {MAX_EPOCH_MS} (the end of year 9999)")
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    if not _RFC3339.fullmatch(text):
        raise _bad(name, "an RFC 3339 time (2026-11-26T10:00:00Z) or epoch milliseconds")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as err:
        raise _bad(name, "an RFC 3339 time (2026-11-26T10:00:00Z) or epoch milliseconds") from err
    if parsed.tzinfo is None:
        raise _bad(name, "an RFC 3339 time with a time zone (Z or +01:00)")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as err:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise _bad(name, "a time between years 1 and 9999 in UTC") from err


def parse_meta(query: Mapping[str, str], headers: Mapping[str, str]) -> FrameMeta:
    """Read and check every metadata field; raise 400 ``bad_metadata`` naming the bad one."""
    seq: int | None = None
    name, text = _pick(query, headers, SEQ)
    if text is not None:
        seq = _integer(name, text, 0, MAX_SEQ)
    boot = ""
    name, text = _pick(query, headers, BOOT)
    if text is not None:
        if not _BOOT.fullmatch(text):
            raise _bad(name, "1-64 characters of A-Z a-z 0-9 . _ : -")
        boot = text
    captured_at = None
    name, text = _pick(query, headers, CAPTURED_AT)
    if text is not None:
        captured_at = parse_timestamp(name, text)
    health: dict[str, Any] = {}
    for key, low, high in ((RSSI, -150, 20), (HEAP, 0, 2**40), (UPTIME, 0, 2**53)):
        name, text = _pick(query, headers, key)
        if text is not None:
            health[key[0]] = _integer(name, text, low, high)
    name, text = _pick(query, headers, FIRMWARE)
    if text is not None:
        if not _FIRMWARE.fullmatch(text):
            raise _bad(name, "1-64 printable ASCII characters")
        health["firmware"] = text
    return FrameMeta(device_seq=seq, boot_id=boot, captured_at=captured_at, health=health)

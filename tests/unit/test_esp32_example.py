"""examples/esp32-cam sends what the server accepts and understands what it answers.

The sketch cannot be compiled here (no ESP32 toolchain), so it is checked in two ways: its
source is read for the names it sends and reads (string level), and its protocol half,
``shelfcam_protocol.h`` (plain C++ with no Arduino), is compiled with the host's C++
compiler and run against the server's own metadata parser and rendered answers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from fastapi.responses import JSONResponse

from shelfcam.ingest import auth, body, metadata
from shelfcam.ingest.directives import directive
from shelfcam.ingest.service import IngestResult
from shelfcam.web import ingest as web_ingest
from tests.jpegs import jpeg

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "esp32-cam"
SKETCH = EXAMPLE / "esp32-cam.ino"
PROTOCOL = EXAMPLE / "shelfcam_protocol.h"
DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"

QUERY_NAMES = {
    pair[0]
    for pair in (
        metadata.SEQ,
        metadata.BOOT,
        metadata.CAPTURED_AT,
        metadata.RSSI,
        metadata.HEAP,
        metadata.UPTIME,
        metadata.FIRMWARE,
    )
}


def _code(path: Path) -> str:
    """The source without // comments (so names in comments do not count as sent)."""
    return re.sub(r"//[^\n]*", "", path.read_text())


# -- string level: the names the sketch uses -------------------------------------------------


def test_sketch_sends_every_metadata_field_and_only_those() -> None:
    sent = set(re.findall(r'\bw\.param\("([^"]+)"\)', _code(PROTOCOL)))
    assert sent == QUERY_NAMES


def test_sketch_headers_are_ones_the_server_reads() -> None:
    headers = dict(re.findall(r'addHeader\("([^"]+)",\s*([^)]+)\)', _code(SKETCH)))
    assert headers == {"X-API-Key": "SHELFCAM_TOKEN", "Content-Type": '"image/jpeg"'}
    assert auth.token_from_headers({"x-api-key": "shc_token"}) == "shc_token"
    frame = jpeg(seed=3)
    assert body.extract_jpeg("image/jpeg", frame) == frame
    assert b"image/jpeg" in body.RAW_TYPES


def test_sketch_posts_the_raw_frame_to_the_ingest_route() -> None:
    path = re.search(r'INGEST_PATH\[\] = "([^"]+)"', _code(PROTOCOL))
    assert path is not None
    routes = {getattr(route, "path", None) for route in web_ingest.router.routes}
    assert path.group(1) in routes
    assert "http.POST(fb->buf, fb->len)" in _code(SKETCH)


def test_sketch_firmware_name_is_valid_metadata() -> None:
    found = re.search(r'FIRMWARE\[\] = "([^"]+)"', _code(SKETCH))
    assert found is not None
    meta = metadata.parse_meta({"firmware": found.group(1)}, {})
    assert meta.health == {"firmware": found.group(1)}


def test_sketch_reads_fields_the_server_sends() -> None:
    read = set(re.findall(r'json_(?:value|true)\(body, "([^"]+)"\)', _code(PROTOCOL)))
    assert read == {"next_interval_ms", "mode", "duplicate", "snapshot_requested"}
    assert read <= set(web_ingest.IngestResponse.model_fields)
    code = _code(SKETCH)
    assert 'const char* keep[] = {"Retry-After"};' in code  # so the header can be read
    assert 'http.header("Retry-After")' in code


def test_every_frame_buffer_is_given_back() -> None:
    code = _code(SKETCH)
    # Frames come from grabFrame() only, and are held by a FrameGuard that returns them.
    assert code.count("esp_camera_fb_get()") == 2  # the stale frame and the real one
    assert "FrameGuard frame(grabFrame(size));" in code
    assert "~FrameGuard()" in code and "esp_camera_fb_return(fb_)" in code


def test_config_example_defines_what_the_sketch_needs() -> None:
    example = (EXAMPLE / "config.h.example").read_text()
    code = _code(SKETCH)
    for name in ("WIFI_SSID", "WIFI_PASSWORD", "SHELFCAM_URL", "SHELFCAM_TOKEN"):
        assert re.search(rf"^#define {name} ", example, re.MULTILINE), name
        assert name in code, name
    assert "config.h" in (EXAMPLE / ".gitignore").read_text().split()


def test_readme_says_it_was_not_compiled_here() -> None:
    readme = (EXAMPLE / "README.md").read_text()
    assert "It has not been compiled here." in readme
    assert "AI Thinker ESP32-CAM" in readme


# -- the protocol compiled on the host ------------------------------------------------------

DRIVER = r"""
#include "shelfcam_protocol.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string cmd = argv[1];
  if (cmd == "query" && argc == 11) {
    shelfcam::FrameMeta m = {};
    m.seq = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
    m.boot = argv[3];
    m.has_captured_at = argv[4][0] == '1';
    m.captured_at_ms = std::strtoull(argv[5], nullptr, 10);
    m.rssi = static_cast<int32_t>(std::strtol(argv[6], nullptr, 10));
    m.heap = static_cast<uint32_t>(std::strtoul(argv[7], nullptr, 10));
    m.uptime_ms = std::strtoull(argv[8], nullptr, 10);
    m.firmware = argv[9];
    const size_t cap = std::strtoul(argv[10], nullptr, 10);
    std::vector<char> buf(cap + 16, '#');
    const bool ok = shelfcam::build_query(m, buf.data(), cap);
    for (size_t i = cap; i < cap + 16; ++i) {
      if (buf[i] != '#') { std::printf("OVERFLOW\n"); return 1; }
    }
    if (cap > 0 && std::memchr(buf.data(), '\0', cap) == nullptr) {
      std::printf("UNTERMINATED\n");
      return 1;
    }
    std::printf("%d %s\n", ok ? 1 : 0, ok ? buf.data() : "");
    return 0;
  }
  if (cmd == "parse") {
    const std::string body((std::istreambuf_iterator<char>(std::cin)),
                           std::istreambuf_iterator<char>());
    shelfcam::Directive d = {true, true, true, 12345};
    const bool ok = shelfcam::parse_response(body.c_str(), &d);
    std::printf("%d %d %d %d %u\n", ok ? 1 : 0, d.burst ? 1 : 0, d.duplicate ? 1 : 0,
                d.snapshot_requested ? 1 : 0, static_cast<unsigned>(d.next_interval_ms));
    return 0;
  }
  if (cmd == "retryable") {
    for (int i = 2; i < argc; ++i) {
      std::printf("%d\n", shelfcam::is_retryable(std::atoi(argv[i])) ? 1 : 0);
    }
    return 0;
  }
  if ((cmd == "delay" || cmd == "refusal") && argc == 5) {
    const long after = shelfcam::parse_retry_after(argv[3]);
    const uint32_t wait =
        cmd == "delay"
            ? shelfcam::retry_delay_ms(static_cast<uint8_t>(std::atoi(argv[2])), after,
                                       static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10)))
            : shelfcam::wait_after_refusal_ms(std::atoi(argv[2]), after);
    std::printf("%u\n", static_cast<unsigned>(wait));
    return 0;
  }
  if (cmd == "boot" && argc == 4) {
    char id[17];
    shelfcam::format_boot_id(static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 0)),
                             static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 0)), id,
                             sizeof id);
    std::printf("%s\n", id);
    return 0;
  }
  return 2;
}
"""


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if compiler is None:
        pytest.skip("no C++ compiler (g++, c++ or clang++) on PATH")
    folder = tmp_path_factory.mktemp("esp32-protocol")
    (folder / "driver.cpp").write_text(DRIVER)
    program = folder / "driver"
    subprocess.run(
        [
            compiler,
            "-std=c++11",
            "-Wall",
            "-Wextra",
            "-Wconversion",
            "-pedantic",
            "-Werror",
            "-O1",
            f"-I{EXAMPLE}",
            str(folder / "driver.cpp"),
            "-o",
            str(program),
        ],
        check=True,
        capture_output=True,
    )
    return program


def _run(program: Path, *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [str(program), *args], input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout


def _query(program: Path, *values: str, cap: int = 256) -> tuple[bool, str]:
    ok, _, text = _run(program, "query", *values, str(cap)).rstrip("\n").partition(" ")
    return ok == "1", text


NOW_MS = 1795687200123


@pytest.mark.parametrize(
    ("seq", "boot", "captured_ms", "rssi", "heap", "uptime", "firmware"),
    [
        (0, "3f9c0a1be2d47765", NOW_MS, -67, 143212, 81234, "shelfcam-esp32cam/0.1.0"),
        (4294967295, "a", None, 0, 0, 0, "x"),
        (17, "boot.1_2:3-4", NOW_MS, -150, 2**32 - 1, 2**53, "fw 1.0+beta (test) ~/?&="),
        (5, "b", 1, 20, 1, 2**40, "~" * 64),
    ],
)
def test_query_round_trips_through_the_server_parser(
    driver: Path,
    seq: int,
    boot: str,
    captured_ms: int | None,
    rssi: int,
    heap: int,
    uptime: int,
    firmware: str,
) -> None:
    ok, query = _query(
        driver,
        str(seq),
        boot,
        "0" if captured_ms is None else "1",
        str(captured_ms or 0),
        str(rssi),
        str(heap),
        str(uptime),
        firmware,
    )
    assert ok and query.startswith("?seq=")
    # The query string as Starlette reads it (it uses parse_qsl too).
    params = dict(parse_qsl(query[1:], keep_blank_values=True, strict_parsing=True))
    meta = metadata.parse_meta(params, {})
    assert meta.device_seq == seq
    assert meta.boot_id == boot
    if captured_ms is None:
        assert "captured_at" not in params and meta.captured_at is None
    else:
        expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=captured_ms)
        assert meta.captured_at == expected
    assert meta.health == {"rssi": rssi, "heap": heap, "uptime": uptime, "firmware": firmware}


def test_a_query_that_does_not_fit_is_refused_without_overflow(driver: Path) -> None:
    values = ("12", "3f9c0a1be2d47765", "1", str(NOW_MS), "-67", "143212", "81234", "fw/1")
    ok, full = _query(driver, *values)
    assert ok
    for cap in range(len(full) + 1):  # every size that is too small, by one byte or more
        assert _query(driver, *values, cap=cap) == (False, "")
    assert _query(driver, *values, cap=len(full) + 1) == (True, full)


def _answer(*, duplicate: bool, burst: bool, snapshot: bool) -> bytes:
    """The server's answer, rendered by the server's own code."""
    now = datetime.now(UTC)
    result = IngestResult(
        capture_id=uuid.uuid4(),
        received_at=now,
        duplicate=duplicate,
        directive=directive(
            now,
            now + timedelta(seconds=3) if burst else None,
            now if snapshot else None,
            idle_interval_ms=1000,
            burst_interval_ms=200,
        ),
    )
    return bytes(JSONResponse(web_ingest._render(result)).body)


@pytest.mark.parametrize("duplicate", [False, True])
@pytest.mark.parametrize("burst", [False, True])
@pytest.mark.parametrize("snapshot", [False, True])
def test_directives_are_read_from_the_servers_answers(
    driver: Path, duplicate: bool, burst: bool, snapshot: bool
) -> None:
    answer = _answer(duplicate=duplicate, burst=burst, snapshot=snapshot).decode()
    expected = f"1 {int(burst)} {int(duplicate)} {int(snapshot)} {200 if burst else 1000}\n"
    assert _run(driver, "parse", stdin=answer) == expected
    # Whitespace and key order do not matter.
    spaced = answer.replace(",", ",\n  ").replace(":", " : ").replace("{", "{\n ")
    assert _run(driver, "parse", stdin=spaced) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        '{"error":"rate_limited","detail":"device pantry sends faster than 0.5 frames/s"}',
        '{"next_interval_ms":"soon"}',
        '{"next_interval_ms":99999999999999}',
        "<html>502 Bad Gateway</html>",
    ],
)
def test_unusable_answers_leave_the_directive_alone(driver: Path, text: str) -> None:
    assert _run(driver, "parse", stdin=text) == "0 1 1 1 12345\n"


def test_intervals_outside_what_the_server_sends_are_clamped(driver: Path) -> None:
    assert _run(driver, "parse", stdin='{"next_interval_ms":0}').split()[-1] == "20"
    assert _run(driver, "parse", stdin='{"next_interval_ms":86400000}').split()[-1] == "3600000"


def _documented_advice() -> dict[int, str]:
    text = DOC.read_text()
    start = text.index("\n### Errors\n")
    rows = re.findall(r"^\| (\d{3}) \| `[a-z_]+` \|[^|]*\|([^|]*)\|$", text[start:], re.MULTILINE)
    advice: dict[int, str] = {}
    for status, what in rows:
        advice[int(status)] = advice.get(int(status), "") + what
    return advice


def test_the_sketch_retries_exactly_what_the_docs_say_to_retry(driver: Path) -> None:
    advice = _documented_advice()
    assert set(advice) == {400, 401, 413, 415, 422, 429, 500, 503, 507}
    statuses = sorted(advice)
    flags = _run(driver, "retryable", *map(str, statuses)).split()
    for status, flag in zip(statuses, flags, strict=True):
        documented = "retry" in advice[status] and "same `seq`" in advice[status]
        assert (flag == "1") == documented, status
    # No answer at all (HTTPClient: refused, send failed, connection lost, read timeout).
    assert _run(driver, "retryable", "-1", "-3", "-5", "-11").split() == ["1"] * 4
    assert _run(driver, "retryable", "200", "201").split() == ["0", "0"]


def test_retry_pauses_double_up_to_a_bound_and_honour_retry_after(driver: Path) -> None:
    def pause(attempt: int, retry_after: str = "", random: int = 0) -> int:
        return int(_run(driver, "delay", str(attempt), retry_after, str(random)))

    assert [pause(a) for a in range(8)] == [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
    assert pause(200) == 30000
    assert 500 <= pause(0, random=7) <= 625  # up to 25% jitter
    assert max(pause(6, random=r) for r in range(0, 20000, 997)) <= 37500
    assert pause(0, "2") == 2000  # Retry-After as the 429 and 503 send it
    assert pause(0, " 5") == 5000
    assert pause(3, "1") == 4000  # never shorter than the backoff either
    assert pause(0, "999999999") == 300000  # bounded whatever the server says
    assert pause(0, "Wed, 21 Oct 2026 07:28:00 GMT") == 500  # HTTP-dates are not used


def test_refusals_wait_before_the_next_frame(driver: Path) -> None:
    def wait(status: int, retry_after: str = "") -> int:
        return int(_run(driver, "refusal", str(status), retry_after, "0"))

    assert wait(401) == 60000
    assert wait(507, "60") == 60000
    assert wait(507, "120") == 120000
    assert [wait(s) for s in (400, 413, 415, 422)] == [0, 0, 0, 0]


def test_boot_ids_are_sixteen_hex_digits_the_server_accepts(driver: Path) -> None:
    ids = {
        _run(driver, "boot", high, low).strip()
        for high, low in [("0", "0"), ("0xffffffff", "0xffffffff"), ("0x3f9c0a1b", "0xe2d47765")]
    }
    assert ids == {"0000000000000000", "ffffffffffffffff", "3f9c0a1be2d47765"}
    for boot in ids:
        assert metadata.parse_meta({"boot": boot}, {}).boot_id == boot

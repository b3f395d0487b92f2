"""POST /api/v1/ingest/frame through the real ASGI app on a real database."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from shelfcam.analysis import jobqueue
from tests.apps import asgi_client, count, files_under, new_device, settings_for
from tests.jpegs import jpeg, with_size_in_header

pytestmark = pytest.mark.anyio

URL = "/api/v1/ingest/frame"
FRAME = jpeg(seed=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Api:
    def __init__(self, client: httpx.AsyncClient, db_url: str, data_dir: Path, token: str):
        self.client = client
        self.db_url = db_url
        self.data_dir = data_dir
        self.token = token

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def raw(
        self,
        data: bytes = FRAME,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return await self.client.post(
            URL,
            content=data,
            params=params,
            headers={"Content-Type": "image/jpeg", **self.auth(), **(headers or {})},
        )

    def captures(self) -> int:
        return count(self.db_url, "SELECT count(*) FROM captures")

    def jobs(self) -> int:
        """Analysis jobs (ingest may also queue a disk-guard job when space runs low)."""
        return count(
            self.db_url,
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s",
            jobqueue.ANALYZE_TASK,
        )

    def staging_files(self) -> list[Path]:
        return files_under(self.data_dir / "staging")

    def assert_nothing_written(self) -> None:
        assert self.captures() == 0
        assert self.jobs() == 0
        assert self.staging_files() == []


async def _api(db_url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[Api]:
    token = await new_device(db_url)
    settings = settings_for(db_url, tmp_path / "data", **overrides)
    async with asgi_client(settings) as (_app, client):
        yield Api(client, db_url, tmp_path / "data", token)


@pytest.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async for value in _api(db_url, tmp_path):
        yield value


async def test_raw_jpeg_is_stored_recorded_and_queued(api: Api) -> None:
    response = await api.raw(
        params={
            "seq": 7,
            "boot": "b1",
            "rssi": -61,
            "heap": 120000,
            "uptime": 5000,
            "firmware": "1.2.3",
        }
    )
    assert response.status_code == 201, response.text
    body = response.json()
    capture_id = uuid.UUID(body["capture_id"])
    assert body["duplicate"] is False
    assert body["mode"] == "idle"
    assert body["next_interval_ms"] == 1000
    assert body["snapshot_requested"] is False
    with psycopg.connect(api.db_url) as conn:
        row = conn.execute(
            "SELECT device_id, device_seq, boot_id, storage_class, analysis_status, sha256_hex,"
            " byte_size, width, height, meta, storage_uri FROM captures WHERE capture_id = %s",
            (capture_id,),
        ).fetchone()
        job = conn.execute(
            "SELECT task_name, lock, args, queue_name FROM procrastinate_jobs"
        ).fetchone()
    assert row is not None and job is not None
    assert row[:5] == ("cam1", 7, "b1", "staging", "queued")
    assert row[5] == hashlib.sha256(FRAME).hexdigest()
    assert row[6:9] == (len(FRAME), 640, 480)
    assert row[9] == {"rssi": -61, "heap": 120000, "uptime": 5000, "firmware": "1.2.3"}
    assert (api.data_dir / row[10]).read_bytes() == FRAME
    day = datetime.now(UTC).date().isoformat()
    assert row[10] == f"staging/cam1/{day}/{capture_id}.jpg"
    assert job == (
        jobqueue.ANALYZE_TASK,
        "cam1",
        {"capture_id": str(capture_id)},
        jobqueue.ANALYSIS_QUEUE,
    )


@pytest.mark.parametrize("field", ["image", "imageFile"])
@pytest.mark.parametrize("part_type", ["image/jpeg", "application/octet-stream"])
async def test_multipart_forms(api: Api, field: str, part_type: str) -> None:
    response = await api.client.post(
        URL,
        files={field: ("esp32-cam.jpg", FRAME, part_type)},
        data={"note": "x"},
        params={"seq": 1},
        headers=api.auth(),
    )
    assert response.status_code == 201, response.text
    stored = api.staging_files()
    assert len(stored) == 1 and stored[0].read_bytes() == FRAME


async def test_x_api_key_and_headers_for_metadata(api: Api) -> None:
    response = await api.client.post(
        URL,
        content=FRAME,
        headers={
            "X-API-Key": api.token,
            "X-Device-Seq": "3",
            "X-Boot-Id": "boot-9",
            "X-Captured-At": "2026-11-26T10:00:00.250Z",
        },
    )
    assert response.status_code == 201, response.text
    with psycopg.connect(api.db_url) as conn:
        row = conn.execute("SELECT device_seq, boot_id, captured_at FROM captures").fetchone()
    assert row == (3, "boot-9", datetime(2026, 11, 26, 10, 0, 0, 250000, tzinfo=UTC))


async def test_captured_at_in_epoch_milliseconds(api: Api) -> None:
    response = await api.raw(params={"captured_at": "1795687200123", "seq": 1})
    assert response.status_code == 201
    with psycopg.connect(api.db_url) as conn:
        row = conn.execute("SELECT captured_at FROM captures").fetchone()
    assert row == (datetime.fromtimestamp(1795687200.123, tz=UTC),)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer shc_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "wrong"},
    ],
)
async def test_missing_or_unknown_token_is_401(api: Api, headers: dict[str, str]) -> None:
    response = await api.client.post(
        URL, content=FRAME, headers={"Content-Type": "image/jpeg", **headers}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    api.assert_nothing_written()


async def test_revoked_token_is_401(api: Api) -> None:
    with psycopg.connect(api.db_url, autocommit=True) as conn:
        conn.execute("UPDATE devices SET revoked = true")
    response = await api.raw()
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    api.assert_nothing_written()


@pytest.mark.parametrize(
    ("params", "headers", "bad"),
    [
        ({"seq": "-1"}, {}, "seq"),
        ({"seq": "abc"}, {}, "seq"),
        ({"seq": "99999999999999999999"}, {}, "seq"),
        ({}, {"X-Device-Seq": "1.5"}, "x-device-seq"),
        ({"boot": "a b"}, {}, "boot"),
        ({"boot": "x" * 65}, {}, "boot"),
        ({"captured_at": "yesterday"}, {}, "captured_at"),
        ({"captured_at": "2026-11-26T10:00:00"}, {}, "captured_at"),
        ({}, {"X-Captured-At": "2026-13-40T99:00:00Z"}, "x-captured-at"),
        ({"rssi": "loud"}, {}, "rssi"),
        ({"heap": "-5"}, {}, "heap"),
        ({"firmware": "\u00e9" * 3}, {}, "firmware"),
    ],
)
async def test_bad_metadata_is_400_and_writes_nothing(
    api: Api, params: dict[str, str], headers: dict[str, str], bad: str
) -> None:
    response = await api.raw(params=params, headers=headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_metadata"
    assert body["detail"].startswith(bad)
    api.assert_nothing_written()


async def test_body_over_the_limit_is_413(api: Api) -> None:
    big = FRAME + b"\x00" * (2 * 1024 * 1024)
    response = await api.raw(big)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    api.assert_nothing_written()


async def test_streamed_body_over_the_limit_is_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"\xff\xd8" + b"\x00" * 65536

    response = await api.client.post(URL, content=chunks(), headers=api.auth())
    assert response.status_code == 413
    api.assert_nothing_written()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"GIF89a" + b"\x00" * 100, "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/jpeg"),
        (b"", "image/jpeg"),
        (FRAME, "text/plain"),
    ],
)
async def test_not_a_jpeg_is_415(api: Api, data: bytes, content_type: str) -> None:
    response = await api.raw(data, headers={"Content-Type": content_type})
    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported_media_type"
    api.assert_nothing_written()


async def test_multipart_part_of_the_wrong_type_is_415(api: Api) -> None:
    response = await api.client.post(
        URL, files={"image": ("a.png", b"\x89PNG....", "image/png")}, headers=api.auth()
    )
    assert response.status_code == 415
    api.assert_nothing_written()


async def test_multipart_without_image_part_is_400(api: Api) -> None:
    response = await api.client.post(
        URL, files={"photo": ("a.jpg", FRAME, "image/jpeg")}, headers=api.auth()
    )
    assert response.status_code == 400
    assert response.json()["error"] == "missing_image"
    api.assert_nothing_written()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (FRAME[: len(FRAME) // 2], "truncated"),
        (FRAME[:-2], "truncated"),
        (b"\xff\xd8\xff\xe0" + b"\x13" * 200 + b"\xff\xd9", "header"),
        (with_size_in_header(FRAME, 60000, 60000), "out of range"),
        (with_size_in_header(FRAME, 9000, 9000), "out of range"),
    ],
)
async def test_broken_jpeg_is_422(api: Api, data: bytes, why: str) -> None:
    response = await api.raw(data)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_jpeg"
    assert why in body["detail"]
    api.assert_nothing_written()


async def test_rate_limit_is_429_with_retry_after(db_url: str, tmp_path: Path) -> None:
    async for api in _api(db_url, tmp_path, rate_limit_fps=0.01, rate_limit_burst=2):
        assert (await api.raw(params={"seq": 1})).status_code == 201
        assert (await api.raw(params={"seq": 2})).status_code == 201
        response = await api.raw(params={"seq": 3})
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"] == "rate_limited"
        assert api.captures() == 2


async def test_full_disk_is_507(db_url: str, tmp_path: Path) -> None:
    async for api in _api(db_url, tmp_path, min_free_disk_mb=10_000_000):
        response = await api.raw()
        assert response.status_code == 507
        assert response.json()["error"] == "insufficient_storage"
        api.assert_nothing_written()


async def test_database_down_is_503_and_leaves_no_file(api: Api, server_url: str) -> None:
    dbname = urlsplit(api.db_url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS false')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (dbname,),
        )
    try:
        response = await api.raw(params={"seq": 1})
        assert response.status_code == 503  # not 401: a database failure is not a bad token
        assert response.json()["error"] == "database_unavailable"
        assert "Retry-After" in response.headers
        assert api.staging_files() == []
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS true')
    assert api.captures() == 0


@pytest.mark.parametrize("params", [{"seq": 1}, {}])
async def test_failure_after_the_file_write_removes_the_file(
    api: Api, params: dict[str, Any]
) -> None:
    """The job insert fails inside the database: no file, no row, no job remain."""
    with psycopg.connect(api.db_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'queue refused the job'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON procrastinate_jobs "
            "FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    response = await api.raw(params=params)
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "detail": "an unexpected error occurred"}
    api.assert_nothing_written()


async def test_retry_with_same_seq_is_200_with_the_original(api: Api) -> None:
    first = await api.raw(params={"seq": 5, "boot": "b"})
    again = await api.raw(params={"seq": 5, "boot": "b"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["capture_id"] == first.json()["capture_id"]
    assert again.json()["duplicate"] is True
    assert again.json()["received_at"] == first.json()["received_at"]
    assert (api.captures(), api.jobs(), len(api.staging_files())) == (1, 1, 1)
    # Same seq after a reboot is a new frame.
    other_boot = await api.raw(params={"seq": 5, "boot": "c"})
    assert other_boot.status_code == 201
    assert api.captures() == 2


async def test_retry_without_seq_is_recognised_by_content(api: Api) -> None:
    first = await api.raw()
    again = await api.raw()
    different = await api.raw(jpeg(seed=2))
    assert (first.status_code, again.status_code, different.status_code) == (201, 200, 201)
    assert again.json()["capture_id"] == first.json()["capture_id"]
    assert (api.captures(), api.jobs(), len(api.staging_files())) == (2, 2, 2)


@pytest.mark.parametrize("params", [{"seq": 11, "boot": "b"}, {}])
async def test_concurrent_retries_make_one_capture(api: Api, params: dict[str, Any]) -> None:
    responses = await asyncio.gather(*(api.raw(params=params) for _ in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201]
    assert len({r.json()["capture_id"] for r in responses}) == 1
    assert (api.captures(), api.jobs(), len(api.staging_files())) == (1, 1, 1)


async def test_directives_follow_the_device_state(api: Api) -> None:
    until = datetime.now(UTC) + timedelta(seconds=30)
    with psycopg.connect(api.db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE device_state SET burst_until = %s, snapshot_requested_at = now()", (until,)
        )
    body = (await api.raw(params={"seq": 1})).json()
    assert body["mode"] == "burst"
    assert body["next_interval_ms"] == 200
    assert datetime.fromisoformat(body["burst_until"]) == until
    assert body["snapshot_requested"] is True
    with psycopg.connect(api.db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE device_state SET burst_until = now() - interval '1 second',"
            " snapshot_requested_at = NULL"
        )
    body = (await api.raw(params={"seq": 2})).json()
    assert (body["mode"], body["burst_until"], body["snapshot_requested"]) == ("idle", None, False)


async def test_last_seen_and_metrics(api: Api) -> None:
    assert count(api.db_url, "SELECT count(*) FROM devices WHERE last_seen_at IS NULL") == 1
    await api.raw(params={"seq": 1})
    await api.raw(params={"seq": 1})
    await api.raw(b"nope")
    assert count(api.db_url, "SELECT count(*) FROM devices WHERE last_seen_at IS NULL") == 0
    text = (await api.client.get("/metrics")).text
    assert 'shelfcam_ingest_frames_total{device="cam1"} 1.0' in text
    assert 'shelfcam_ingest_duplicates_total{device="cam1"} 1.0' in text
    assert 'shelfcam_ingest_errors_total{code="unsupported_media_type",device="cam1"} 1.0' in text
    assert api.token not in text


async def test_error_bodies_are_json_with_code_and_detail(api: Api) -> None:
    response = await api.raw(b"nope")
    assert response.headers["content-type"].startswith("application/json")
    assert set(json.loads(response.text)) == {"error", "detail"}

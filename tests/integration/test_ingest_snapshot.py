"""A snapshot the admin UI asks for: announced in the response to the camera's next frame,
then the frame after that is also kept as a debug capture."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest

from shelfcam.frames import layout
from tests.apps import asgi_client, count, files_under, new_device, settings_for
from tests.jpegs import jpeg

pytestmark = pytest.mark.anyio

URL = "/api/v1/ingest/frame"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    token = await new_device(db_url)
    async with asgi_client(settings_for(db_url, tmp_path / "data")) as (_app, client):
        yield client, token


def _request_snapshot(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE device_state SET snapshot_requested_at = now()")


async def _send(
    client: httpx.AsyncClient, token: str, seq: int | None, seed: int
) -> httpx.Response:
    params = {} if seq is None else {"seq": str(seq)}
    return await client.post(
        URL,
        content=jpeg(seed=seed),
        params=params,
        headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
    )


def _debug_rows(db_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT capture_id, storage_uri, storage_class, analysis_status, meta, width, height,"
            " device_seq, sha256_hex FROM captures WHERE storage_class = 'debug'"
        ).fetchall()


@pytest.mark.parametrize("seq", [7, None], ids=["with-seq", "without-seq"])
async def test_requested_snapshot_keeps_one_debug_copy_and_clears_the_request(
    client: tuple[httpx.AsyncClient, str], db_url: str, tmp_path: Path, seq: int | None
) -> None:
    http, token = client
    _request_snapshot(db_url)
    told = await _send(http, token, None if seq is None else seq - 1, seed=0)
    assert told.status_code == 201
    assert told.json()["snapshot_requested"] is True  # the camera is asked for it
    assert _debug_rows(db_url) == []
    first = await _send(http, token, seq, seed=1)
    assert first.status_code == 201
    assert first.json()["snapshot_requested"] is False  # taken: nothing more to send
    rows = _debug_rows(db_url)
    assert len(rows) == 1
    snap_id, uri, storage_class, status, meta, width, height, device_seq, sha = rows[0]
    assert (storage_class, status, width, height, device_seq, sha) == (
        "debug",
        "skipped",
        640,
        480,
        None,
        None,
    )
    assert isinstance(meta, dict)
    assert meta["snapshot_of"] == first.json()["capture_id"]
    assert isinstance(uri, str)
    assert uri.startswith("debug/cam1/") and uri.endswith(f"/{snap_id}.jpg")
    layout.check_uri(uri)
    kept = tmp_path / "data" / uri
    assert kept.read_bytes() == jpeg(seed=1)
    # The originals are queued for analysis as always; the copy is not.
    assert count(db_url, "SELECT count(*) FROM captures WHERE analysis_status = 'queued'") == 2
    assert count(db_url, "SELECT count(*) FROM procrastinate_jobs") == 2
    assert (
        count(db_url, "SELECT count(*) FROM device_state WHERE snapshot_requested_at IS NULL") == 1
    )
    # The next frame is an ordinary one again.
    second = await _send(http, token, None if seq is None else seq + 1, seed=2)
    assert second.status_code == 201
    assert second.json()["snapshot_requested"] is False
    assert len(_debug_rows(db_url)) == 1
    assert files_under(tmp_path / "data" / "debug") == [kept]


async def test_without_a_request_no_debug_copy(
    client: tuple[httpx.AsyncClient, str], db_url: str, tmp_path: Path
) -> None:
    http, token = client
    for seq in range(3):
        response = await _send(http, token, seq, seed=seq)
        assert response.json()["snapshot_requested"] is False
    assert _debug_rows(db_url) == []
    assert files_under(tmp_path / "data" / "debug") == []


async def test_a_retry_is_not_taken_as_the_snapshot(
    client: tuple[httpx.AsyncClient, str], db_url: str, tmp_path: Path
) -> None:
    http, token = client
    assert (await _send(http, token, 1, seed=1)).status_code == 201
    _request_snapshot(db_url)
    retry = await _send(http, token, 1, seed=1)
    assert retry.status_code == 200  # a duplicate: neither announced nor kept
    assert retry.json()["snapshot_requested"] is True
    assert (await _send(http, token, 2, seed=2)).json()["snapshot_requested"] is True
    assert _debug_rows(db_url) == []
    retry = await _send(http, token, 2, seed=2)
    assert retry.status_code == 200
    assert _debug_rows(db_url) == []
    assert (await _send(http, token, 3, seed=3)).status_code == 201
    assert len(_debug_rows(db_url)) == 1


async def test_frames_arriving_together_make_one_snapshot(
    client: tuple[httpx.AsyncClient, str], db_url: str, tmp_path: Path
) -> None:
    http, token = client
    _request_snapshot(db_url)
    await _send(http, token, 100, seed=100)  # announces the request
    responses = await asyncio.gather(*(_send(http, token, seq, seed=seq) for seq in range(6)))
    assert [r.status_code for r in responses] == [201] * 6
    assert len(_debug_rows(db_url)) == 1
    assert len(files_under(tmp_path / "data" / "debug")) == 1

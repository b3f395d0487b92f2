"""Losing the database: terminated backends, a database that refuses connections. The
worker and its scheduler survive, every route answers 503 with Retry-After meanwhile
(never 500), /healthz says why, and service resumes by itself when the database is back.

Only this test's own database is touched (its backends terminated, its connections
refused for a while): the server itself, shared with other tests, keeps running.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import psycopg
import pytest

from tests.apps import asgi_client, count, files_under, new_device, settings_for
from tests.jpegs import jpeg
from tests.webapp import create_user, login

pytestmark = pytest.mark.anyio

URL = "/api/v1/ingest/frame"
DEADLINE_S = 60


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def terminate_backends(db_url: str) -> int:
    """What PostgreSQL does to every session after one backend crashed."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def allow_connections(server_url: str, db_url: str, allowed: bool) -> None:
    """Make this test's database refuse (or accept again) every new connection."""
    name = urlsplit(db_url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
    if not allowed:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


async def upload(client: httpx.AsyncClient, token: str, seq: int) -> httpx.Response:
    return await client.post(
        URL,
        content=jpeg(seed=seq % 3),
        params={"seq": seq, "boot": "b1"},
        headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
    )


async def upload_until_accepted(client: httpx.AsyncClient, token: str, seq: int) -> None:
    """As a camera does: retry the same seq after a 503 until it is taken."""
    with anyio.fail_after(DEADLINE_S):
        while True:
            response = await upload(client, token, seq)
            if response.status_code in (200, 201):
                return
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"]
            await asyncio.sleep(0.1)  # a camera's retry interval, shortened


def queued(db_url: str) -> int:
    return count(db_url, "SELECT count(*) FROM captures WHERE analysis_status = 'queued'")


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll a condition nothing announces (the database, the server) until a deadline."""
    with anyio.fail_after(DEADLINE_S):
        while not await check():  # noqa: ASYNC110 - there is no event to wait on
            await asyncio.sleep(0.1)


async def until(check: Callable[[], bool]) -> None:
    async def checked() -> bool:
        return check()

    await eventually(checked)


def analysis_jobs(db_url: str) -> int:
    return count(db_url, "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'analysis'")


async def healthy(client: httpx.AsyncClient) -> bool:
    return (await client.get("/healthz")).status_code == 200


async def healthz(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/healthz")


@pytest.fixture
async def serve(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """`shelfcam serve` in-process: API and worker on one pool."""
    settings = settings_for(db_url, tmp_path / "data", rate_limit_burst=10_000)
    token = await new_device(db_url, "cam1")
    async with asgi_client(settings, with_worker=True) as (_app, client):
        yield client, token


async def test_worker_survives_terminated_backends(
    serve: tuple[httpx.AsyncClient, str], db_url: str
) -> None:
    client, token = serve
    await upload_until_accepted(client, token, 0)
    await until(lambda: queued(db_url) == 0)
    for _ in range(2):  # twice: the restarted worker must survive it too
        assert terminate_backends(db_url) > 0
        first = count(db_url, "SELECT coalesce(max(device_seq), 0) FROM captures") + 1
        for seq in range(first, first + 4):
            await upload_until_accepted(client, token, seq)
        await until(lambda: queued(db_url) == 0)
    assert count(db_url, "SELECT count(*) FROM captures") == 9
    assert count(db_url, "SELECT count(*) FROM captures WHERE analysis_status = 'processed'") == 9
    # A job's row goes once the queue has recorded its outcome, just after the frame's own
    # commit: wait for it rather than race it.
    await until(lambda: analysis_jobs(db_url) == 0)
    await eventually(lambda: healthy(client))
    body = (await healthz(client)).json()
    assert body["worker"]["state"] == "running"


async def test_unreachable_database_is_503_everywhere_and_recovers(
    db_url: str, server_url: str, tmp_path: Path
) -> None:
    settings = settings_for(db_url, tmp_path / "data")
    token = await new_device(db_url, "cam1")
    await create_user(db_url)
    async with asgi_client(settings) as (_app, client):
        assert (await login(client)).status_code == 303
        allow_connections(server_url, db_url, False)
        try:
            page = await client.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 503, page.text
            assert page.headers["retry-after"]
            assert "text/html" in page.headers["content-type"]
            for path in ("/api/v1/events", "/api/v1/devices", "/devices"):
                answer = await client.get(path)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"] == "database_unavailable"
                assert answer.headers["retry-after"]
            frame = await upload(client, token, 0)
            assert frame.status_code == 503, frame.text
            assert frame.json()["error"] == "database_unavailable"
            assert frame.headers["retry-after"]
            health = await healthz(client)
            assert health.status_code == 503
            assert health.json()["reason"] == "the database is unreachable"
            assert files_under(tmp_path / "data" / "staging") == []
        finally:
            allow_connections(server_url, db_url, True)
        await upload_until_accepted(client, token, 0)
        assert (await client.get("/api/v1/events")).status_code == 200
        assert (await healthz(client)).status_code == 200


async def test_healthz_reports_a_silent_worker(
    serve: tuple[httpx.AsyncClient, str], db_url: str
) -> None:
    client, _token = serve

    async def worker_registered() -> bool:
        worker = (await healthz(client)).json().get("worker", {})
        return bool(worker.get("state") == "running")

    await eventually(worker_registered)
    assert (await healthz(client)).status_code == 200
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '5 min'")
    stale = await healthz(client)
    assert stale.status_code == 503
    assert stale.headers["retry-after"]
    assert "analysis worker has shown no sign of life" in stale.json()["reason"]


async def test_healthz_reports_a_frame_waiting_too_long(db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path / "data")  # `shelfcam api`: no worker here
    token = await new_device(db_url, "cam1")
    async with asgi_client(settings) as (_app, client):
        assert (await upload(client, token, 0)).status_code == 201
        assert (await healthz(client)).status_code == 200
        old = datetime.now(UTC) - timedelta(hours=1)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("UPDATE captures SET received_at = %s", (old,))
        stuck = await healthz(client)
    assert stuck.status_code == 503
    body = stuck.json()
    assert body["status"] == "unavailable"
    assert re.search(r"waited 3\d{3} s for analysis \(limit 600 s\)", body["reason"])

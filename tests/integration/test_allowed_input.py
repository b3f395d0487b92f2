"""Input the documentation allows, or that is merely odd, never makes a 500: a clear
documented error in the ``{"error", "detail"}`` shape, with nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shelfcam.engine.config import Thresholds
from tests.apps import asgi_client, count, files_under, new_device, settings_for
from tests.jpegs import jpeg
from tests.webapp import create_token, create_user, login, running_app

pytestmark = pytest.mark.anyio

URL = "/api/v1/ingest/frame"
FRAME = jpeg(seed=2)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def camera(db_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    token = await new_device(db_url)
    async with asgi_client(settings_for(db_url, tmp_path / "data")) as (_app, client):
        yield client, token


def _nothing_stored(db_url: str, tmp_path: Path) -> None:
    assert count(db_url, "SELECT count(*) FROM captures") == 0
    assert count(db_url, "SELECT count(*) FROM procrastinate_jobs") == 0
    assert files_under(tmp_path / "data" / "staging") == []


@pytest.mark.parametrize(
    "where",
    [
        {"params": {"captured_at": "999999999999999"}},
        {"headers": {"X-Captured-At": "999999999999999"}},
        {"params": {"captured_at": "9999-12-31T23:30:00-05:00"}},
        {"params": {"captured_at": "0001-01-01T00:00:00+14:00"}},
    ],
    ids=["epoch-ms-query", "epoch-ms-header", "past-year-9999", "before-year-1"],
)
async def test_an_absurd_camera_time_is_400_not_500(
    camera: tuple[httpx.AsyncClient, str], db_url: str, tmp_path: Path, where: dict[str, Any]
) -> None:
    client, token = camera
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
    response = await client.post(
        URL,
        content=FRAME,
        params=where.get("params"),
        headers={**headers, **where.get("headers", {})},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_metadata"
    assert "captured-at" in response.json()["detail"].replace("_", "-")
    _nothing_stored(db_url, tmp_path)


async def test_a_multipart_body_without_its_closing_boundary_is_refused(
    camera: tuple[httpx.AsyncClient, str], db_url: str, tmp_path: Path
) -> None:
    client, token = camera
    head = (
        b'--XyZ\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )
    for body in (head + FRAME, head + FRAME + b"\r\n--XyZ"):
        response = await client.post(
            URL,
            content=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "multipart/form-data; boundary=XyZ",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_multipart"
    _nothing_stored(db_url, tmp_path)


@pytest.mark.parametrize(
    "query", ["to=9999-12-31", "from=0001-01-01", "from=0001-01-01&to=9999-12-31"]
)
async def test_the_timeline_takes_any_date(db_url: str, tmp_path: Path, query: str) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        assert (await login(web.client)).status_code == 303
        page = await web.client.get(f"/?{query}")
        assert page.status_code == 200, page.text
        more = await web.client.get(f"/timeline/more?{query}&cursor=x")
        assert more.status_code in (200, 400), more.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events?limit=0",
        "/api/v1/events?since=yesterday",
        "/api/v1/events?type=party",
        "/api/v1/stats/events-per-day?days=0",
    ],
)
async def test_validation_errors_have_the_documented_shape(
    db_url: str, tmp_path: Path, path: str
) -> None:
    async with running_app(db_url, tmp_path) as web:
        token = await create_token(db_url)
        response = await web.client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"] == "invalid_input"
    assert isinstance(body["detail"], str) and "(query)" in body["detail"]


async def test_a_malformed_json_body_has_the_documented_shape(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        token = await create_token(db_url)
        response = await web.client.post(
            "/api/v1/devices",
            content=b'{"device_id": ',
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"error", "detail"}


async def test_the_schema_is_as_strict_as_the_validation(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        schema = (await web.client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components
    for path in schema["paths"].values():
        for operation in path.values():
            answer = operation["responses"].get("422")
            if answer is not None:
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("ErrorBody"), ref
    ingest = {p["name"]: p["schema"] for p in schema["paths"][URL]["post"]["parameters"]}
    assert ingest["seq"]["type"] == "integer" and ingest["seq"]["minimum"] == 0
    assert ingest["rssi"] == {"type": "integer", "minimum": -150, "maximum": 20}
    assert "pattern" in ingest["boot"] and "pattern" in ingest["captured_at"]
    assert "pattern" in ingest["X-Captured-At"]
    config = components["ConfigIn"]["properties"]
    thresholds = next(s for s in config["thresholds"]["anyOf"] if s.get("type") == "object")
    assert thresholds["propertyNames"]["enum"] == Thresholds.names()
    roi = next(s for s in config["inventory_roi"]["anyOf"] if s.get("type") == "array")
    assert roi["minItems"] == 3
    assert roi["items"]["items"] == {"type": "number", "minimum": 0, "maximum": 1}
    events = schema["paths"]["/api/v1/events"]["get"]["parameters"]
    cursor = next(p for p in events if p["name"] == "cursor")
    assert any("pattern" in s for s in cursor["schema"].get("anyOf", [cursor["schema"]]))


async def test_no_page_loads_scripts_from_elsewhere(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        for path in ("/docs", "/redoc"):
            response = await web.client.get(path)
            assert response.status_code == 404
            assert "cdn" not in response.text.lower()
        assert (await web.client.get("/openapi.json")).status_code == 200

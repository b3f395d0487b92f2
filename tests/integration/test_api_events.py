"""GET /api/v1/events, /api/v1/events/{id}, /api/v1/devices and the image route."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.events_seed import add_device, seed_event
from tests.webapp import WebApp, create_token, running_app

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def _auth(web: WebApp) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(web.db_url)}"}


def _seed_many(web: WebApp) -> list[tuple[datetime, uuid.UUID]]:
    """Nine events over two cameras and three types, two of them at the same instant."""
    seeded = []
    kinds = ["stock_changed", "interaction_detected", "camera_obstructed"]
    with psycopg.connect(web.db_url, autocommit=True) as conn:
        for i in range(9):
            started = T0 + timedelta(minutes=10 * min(i, 7))  # events 7 and 8 share a time
            event_id = seed_event(
                conn,
                web.store,
                device_id="pantry" if i % 2 else "fridge",
                event_type=kinds[i % 3],
                started_at=started,
                roles=("thumb",),
            )
            seeded.append((started, event_id))
    return sorted(seeded, reverse=True)


async def _all_pages(web: WebApp, headers: dict[str, str], query: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        url = f"/api/v1/events?{query}" + (f"&cursor={cursor}" if cursor else "")
        response = await web.client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


async def test_cursor_pagination_walks_every_event_once_newest_first(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        expected = _seed_many(web)
        headers = await _auth(web)
        first = (await web.client.get("/api/v1/events?limit=4", headers=headers)).json()
        assert len(first["events"]) == 4
        assert first["next_cursor"]
        events = await _all_pages(web, headers, "limit=4")
        assert [uuid.UUID(e["event_id"]) for e in events] == [eid for _, eid in expected]
        assert [datetime.fromisoformat(e["started_at"]) for e in events] == [t for t, _ in expected]
        # A page size that divides the total exactly still ends with next_cursor null.
        assert len(await _all_pages(web, headers, "limit=3")) == 9
        exact = (await web.client.get("/api/v1/events?limit=9", headers=headers)).json()
        assert exact["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("device=pantry", lambda e: e["device_id"] == "pantry"),
        ("type=camera_obstructed", lambda e: e["event_type"] == "camera_obstructed"),
        (
            "device=fridge&type=stock_changed",
            lambda e: e["device_id"] == "fridge" and e["event_type"] == "stock_changed",
        ),
        (
            "since=2026-11-20T12:20:00Z&until=2026-11-20T13:00:00Z",
            lambda e: (
                T0 + timedelta(minutes=20)
                <= datetime.fromisoformat(e["started_at"])
                < T0 + timedelta(minutes=60)
            ),
        ),
        # A naive time is UTC.
        (
            "since=2026-11-20T13:00:00",
            lambda e: datetime.fromisoformat(e["started_at"]) >= T0 + timedelta(minutes=60),
        ),
    ],
)
async def test_filters(db_url: str, tmp_path: Path, query: str, predicate: Any) -> None:
    async with running_app(db_url, tmp_path) as web:
        expected = _seed_many(web)
        headers = await _auth(web)
        everything = await _all_pages(web, headers, "limit=200")
        assert len(everything) == len(expected)
        wanted = [e["event_id"] for e in everything if predicate(e)]
        assert wanted, "the filter should match something"
        assert len(wanted) < len(everything), "the filter should leave something out"
        found = await _all_pages(web, headers, f"{query}&limit=2")
        assert [e["event_id"] for e in found] == wanted


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("cursor=not-a-cursor", 400, "invalid_input"),
        ("since=2026-11-21T00:00:00Z&until=2026-11-20T00:00:00Z", 400, "invalid_input"),
        ("limit=0", 422, None),
        ("limit=201", 422, None),
        ("type=party", 422, None),
        ("since=yesterday", 422, None),
    ],
)
async def test_bad_queries_are_refused(
    db_url: str, tmp_path: Path, query: str, status: int, error: str | None
) -> None:
    async with running_app(db_url, tmp_path) as web:
        response = await web.client.get(f"/api/v1/events?{query}", headers=await _auth(web))
        assert response.status_code == status, response.text
        if error:
            assert response.json()["error"] == error


async def test_event_detail_lists_images_with_urls_and_expiry(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        headers = await _auth(web)
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(
                conn,
                web.store,
                device_id="pantry",
                started_at=T0,
                roles=("pre", "during", "post", "annotated", "thumb"),
                expired=("during",),
            )
        # Retention removed this file without marking the row (yet): still expired.
        web.store.delete(f"events/pantry/2026-11-20/{event_id}/annotated.jpg")
        response = await web.client.get(f"/api/v1/events/{event_id}", headers=headers)
        assert response.status_code == 200
        event = response.json()
        assert event["event_type"] == "stock_changed"
        assert event["details"]["roi_version"] == 3
        assert event["details"]["decision_trace"][-1] == "event_emitted"
        images = {image["role"]: image for image in event["images"]}
        assert set(images) == {"pre", "during", "post", "annotated", "thumb"}
        captures = event["details"]["captures"]
        for role in ("pre", "during", "post"):
            assert images[role]["capture_id"] == captures[f"{role}_capture_id"]
        assert images["thumb"]["capture_id"] is None
        assert {r: i["expired"] for r, i in images.items()} == {
            "pre": False,
            "during": True,
            "post": False,
            "annotated": True,
            "thumb": False,
        }
        assert images["during"]["expired_at"] is not None
        for role, image in images.items():
            assert image["url"] == f"/images/{event_id}/{role}"
            served = await web.client.get(image["url"], headers=headers)
            if image["expired"]:
                assert served.status_code == 410, role
                assert served.json()["error"] == "gone"
            else:
                assert served.status_code == 200, role
                assert served.headers["content-type"] == "image/jpeg"
                assert served.content == web.store.get(
                    f"{'thumbs' if role == 'thumb' else 'events'}/pantry/2026-11-20/"
                    f"{event_id}/{role}.jpg"
                )


async def test_image_route_only_serves_what_event_images_names(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        headers = await _auth(web)
        secret = tmp_path / "secret.jpg"
        secret.write_bytes(b"\xff\xd8 not for you")
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(
                conn, web.store, device_id="pantry", started_at=T0, roles=("pre",)
            )
            # A row whose URI points outside the store's layout is never served.
            conn.execute(
                "INSERT INTO event_images (event_id, role, derived_storage_uri)"
                " VALUES (%s, 'post', '../secret.jpg')",
                (event_id,),
            )
        bad = await web.client.get(f"/images/{event_id}/post", headers=headers)
        assert bad.status_code == 404
        assert b"not for you" not in bad.content
        missing_role = await web.client.get(f"/images/{event_id}/during", headers=headers)
        assert missing_role.status_code == 404
        unknown_role = await web.client.get(f"/images/{event_id}/..%2Fsecret", headers=headers)
        assert unknown_role.status_code in (404, 422)
        unknown_event = await web.client.get(f"/images/{uuid.uuid4()}/pre", headers=headers)
        assert unknown_event.status_code == 404
        assert (await web.client.get(f"/images/{event_id}/pre", headers=headers)).status_code == 200


async def test_unknown_event_is_404_json(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        response = await web.client.get(f"/api/v1/events/{uuid.uuid4()}", headers=await _auth(web))
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_events_tolerate_sparse_details(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(
                conn,
                web.store,
                device_id="pantry",
                event_type="scene_shifted",
                started_at=T0,
                roles=(),
                details={},
                confidence=None,
            )
        response = await web.client.get(f"/api/v1/events/{event_id}", headers=await _auth(web))
        assert response.status_code == 200
        assert response.json()["images"] == []
        assert response.json()["confidence"] is None


async def test_devices_list_never_shows_token_hashes(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        with psycopg.connect(db_url, autocommit=True) as conn:
            add_device(conn, "pantry")
            add_device(conn, "fridge")
            conn.execute(
                "INSERT INTO device_configs (device_id, roi_version, interaction_roi,"
                " inventory_roi, thresholds) VALUES ('fridge', 2, %s, %s, %s)",
                (
                    Jsonb([[0, 0], [1, 0], [1, 0.5]]),
                    Jsonb([[0, 0.5], [1, 0.5], [1, 1]]),
                    Jsonb({"inventory_change_threshold": 0.3}),
                ),
            )
            conn.execute("UPDATE devices SET revoked = true WHERE device_id = 'pantry'")
        response = await web.client.get("/api/v1/devices", headers=await _auth(web))
        assert response.status_code == 200
        assert "token" not in response.text
        devices = {d["device_id"]: d for d in response.json()["devices"]}
        assert set(devices) == {"fridge", "pantry"}
        assert devices["fridge"]["roi_version"] == 2
        assert devices["fridge"]["inventory_roi"] == [[0, 0.5], [1, 0.5], [1, 1]]
        assert devices["fridge"]["thresholds"] == {"inventory_change_threshold": 0.3}
        assert devices["pantry"]["revoked"] is True
        assert devices["pantry"]["last_seen_at"] is None


async def test_openapi_documents_the_api(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        schema = (await web.client.get("/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/api/v1/events", "/api/v1/events/{event_id}", "/api/v1/devices"):
        assert "401" in paths[path]["get"]["responses"], path
        assert paths[path]["get"]["security"], path
    ok = paths["/api/v1/events"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/EventPageOut")
    assert "/images/{event_id}/{role}" in paths
    assert {"HTTPBearer", "APIKeyCookie"} <= set(schema["components"]["securitySchemes"])
    device = schema["components"]["schemas"]["DeviceOut"]["properties"]
    assert "token_hash" not in device
    # The pages are not API.
    assert "/" not in paths
    assert "/login" not in paths

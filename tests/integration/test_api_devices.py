"""The devices part of the JSON API: one device, add, config, token, revoke, snapshot,
mark-empty; admin tokens, or sessions with the CSRF header."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from shelfcam.devices import hash_token
from tests.webapp import WebApp, create_token, create_user, csrf_of, login, running_app

pytestmark = pytest.mark.anyio


async def _auth(web: WebApp) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(web.db_url)}"}


async def test_add_configure_rotate_revoke_with_an_admin_token(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        auth = await _auth(web)
        poly = [[0.1, 0.2], [0.9, 0.2], [0.9, 0.8], [0.1, 0.8]]
        added = await web.client.post(
            "/api/v1/devices", json={"device_id": "pantry", "inventory_roi": poly}, headers=auth
        )
        assert added.status_code == 201
        token = added.json()["token"]
        assert added.json()["device_id"] == "pantry"
        taken = await web.client.post("/api/v1/devices", json={"device_id": "pantry"}, headers=auth)
        assert taken.status_code == 409

        device = (await web.client.get("/api/v1/devices/pantry", headers=auth)).json()
        assert device["inventory_roi"] == poly
        assert device["roi_version"] == 1
        assert device["status"]["state"] == "never_seen"

        config = await web.client.post(
            "/api/v1/devices/pantry/config",
            json={"thresholds": {"inventory_change_threshold": 0.3, "stable_frames": 3}},
            headers=auth,
        )
        assert config.status_code == 200, config.text
        assert config.json()["roi_version"] == 2
        assert config.json()["thresholds"] == {
            "inventory_change_threshold": 0.3,
            "stable_frames": 3,
        }
        assert config.json()["inventory_roi"] == poly  # kept from the previous version
        for bad, message in [
            ({"thresholds": {"nope": 1}}, "unknown threshold 'nope'"),
            ({"thresholds": {"stable_frames": 2.5}}, "non-negative int"),
            ({"thresholds": {"interaction_end_threshold": 0.5}}, "must not exceed"),
            ({"inventory_roi": [[0, 0], [1, 1]]}, "at least 3 points"),
            ({}, "nothing to change"),
        ]:
            refused = await web.client.post("/api/v1/devices/pantry/config", json=bad, headers=auth)
            assert refused.status_code == 400, bad
            assert message in refused.json()["detail"]
        nan = await web.client.post(
            "/api/v1/devices/pantry/config",
            content=b'{"thresholds": {"lighting_threshold": NaN}}',
            headers={**auth, "Content-Type": "application/json"},
        )
        assert nan.status_code in (400, 422)
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT max(roi_version) FROM device_configs").fetchone() == (2,)

        rotated = await web.client.post("/api/v1/devices/pantry/token", headers=auth)
        assert rotated.status_code == 200
        assert rotated.json()["token"] != token
        with psycopg.connect(db_url) as conn:
            row = conn.execute("SELECT token_hash FROM devices").fetchone()
        assert row is not None and bytes(row[0]) == hash_token(rotated.json()["token"])

        revoked = await web.client.post("/api/v1/devices/pantry/revoke", headers=auth)
        assert revoked.status_code == 200
        assert revoked.json()["revoked"] is True
        snapshot = await web.client.post("/api/v1/devices/pantry/snapshot", headers=auth)
        assert snapshot.status_code == 202
        assert snapshot.json()["snapshot_requested_at"] is not None
        empty = await web.client.post("/api/v1/devices/pantry/mark-empty", headers=auth)
        assert empty.status_code == 404
        assert "no stable frame" in empty.json()["detail"]
        for path in ("token", "revoke", "snapshot", "mark-empty", "config"):
            missing = await web.client.post(f"/api/v1/devices/ghost/{path}", json={}, headers=auth)
            assert missing.status_code in (400, 404), path


async def test_a_session_needs_the_csrf_header_to_change_anything(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        await login(web.client)
        refused = await web.client.post("/api/v1/devices", json={"device_id": "pantry"})
        assert refused.status_code == 403
        assert refused.json()["error"] == "csrf_failed"
        csrf = csrf_of((await web.client.get("/devices")).text)
        added = await web.client.post(
            "/api/v1/devices", json={"device_id": "pantry"}, headers={"X-CSRF-Token": csrf}
        )
        assert added.status_code == 201
        assert (await web.client.get("/api/v1/devices/pantry")).status_code == 200
        web.client.cookies.clear()
        anonymous = await web.client.post(
            "/api/v1/devices", json={"device_id": "x"}, headers={"X-CSRF-Token": csrf}
        )
        assert anonymous.status_code == 401


async def test_openapi_lists_the_device_routes(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        paths = (await web.client.get("/openapi.json")).json()["paths"]
        assert "get" in paths["/api/v1/devices/{device_id}"]
        for action in ("config", "token", "revoke", "snapshot", "mark-empty"):
            assert "post" in paths[f"/api/v1/devices/{{device_id}}/{action}"], action
        assert "post" in paths["/api/v1/devices"]

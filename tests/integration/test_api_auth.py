"""Authentication of the admin UI and the JSON API: sessions, tokens, CSRF, throttling."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.routing import APIRoute

from shelfcam.accounts import admins
from shelfcam.web import ui
from tests.events_seed import seed_event
from tests.webapp import PASSWORD, create_token, create_user, csrf_of, login, running_app

pytestmark = pytest.mark.anyio

SAMPLE = {
    "event_id": str(uuid.uuid4()),
    "role": "pre",
    "device_id": "pantry",
    "capture_id": str(uuid.uuid4()),
}
# Routes with their own authentication (device tokens) or none by design.
NOT_ADMIN = ("/api/v1/ingest", "/healthz", "/metrics", "/openapi.json", "/docs", "/redoc")


def _routes() -> list[APIRoute]:
    """Every route of the admin UI's routers (FastAPI includes routers lazily)."""
    return [r for router in ui.ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def _protected_get_paths() -> list[str]:
    paths = []
    for route in _routes():
        if "GET" not in (route.methods or ()):
            continue
        if route.path.startswith(NOT_ADMIN):
            continue
        if route.path.startswith(("/api/", "/images/", "/snapshots/")):
            paths.append(route.path.format(**SAMPLE))
    return paths


async def test_every_api_and_image_route_answers_401_json_without_auth(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(conn, web.store, device_id="pantry", started_at=datetime.now(UTC))
        paths = _protected_get_paths()
        # The routes this issue promises are all there (and so checked).
        assert {"/api/v1/events", "/api/v1/devices", f"/api/v1/events/{SAMPLE['event_id']}"} <= set(
            paths
        )
        assert f"/images/{SAMPLE['event_id']}/pre" in paths
        paths += [f"/api/v1/events/{event_id}", f"/images/{event_id}/pre"]
        for path in paths:
            for headers in ({}, {"Authorization": "Bearer shcadm_not-a-real-token"}):
                response = await web.client.get(path, headers=headers)
                assert response.status_code == 401, (path, response.text)
                assert response.headers["content-type"] == "application/json"
                body = response.json()
                assert body["error"] == "unauthorized"
                assert body["detail"]
                assert response.headers["www-authenticate"] == "Bearer"
                assert b"\xff\xd8" not in response.content


async def test_health_and_metrics_stay_open(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        assert (await web.client.get("/healthz")).status_code == 200
        assert (await web.client.get("/metrics")).status_code == 200
        assert (await web.client.get("/static/htmx.min.js")).status_code == 200


async def test_admin_token_opens_the_api_and_a_revoked_one_does_not(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        with psycopg.connect(db_url, autocommit=True) as conn:
            event_id = seed_event(conn, web.store, device_id="pantry", started_at=datetime.now(UTC))
        token = await create_token(db_url, "backup")
        auth = {"Authorization": f"Bearer {token}"}
        devices = await web.client.get("/api/v1/devices", headers=auth)
        assert devices.status_code == 200
        assert devices.json()["devices"][0]["device_id"] == "pantry"
        image = await web.client.get(f"/images/{event_id}/post", headers=auth)
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/jpeg"
        assert image.content.startswith(b"\xff\xd8")
        # A token is no session: the pages still want a login.
        page = await web.client.get("/", headers=auth)
        assert page.status_code == 303
        with psycopg.connect(db_url, autocommit=True) as conn:
            stored = conn.execute("SELECT token_hash, last_used_at FROM admin_tokens").fetchone()
            assert stored is not None
            assert bytes(stored[0]) == admins.hash_secret("admin-token", token)
            assert stored[1] is not None
            conn.execute("UPDATE admin_tokens SET revoked = true")
        refused = await web.client.get("/api/v1/devices", headers=auth)
        assert refused.status_code == 401


async def test_pages_redirect_to_login_without_a_session(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        home = await web.client.get("/")
        assert home.status_code == 303
        assert home.headers["location"] == "/login"
        event_id = uuid.uuid4()
        page = await web.client.get(f"/events/{event_id}")
        assert page.status_code == 303
        assert page.headers["location"] == f"/login?next=/events/{event_id}"
        fragment = await web.client.get("/timeline/new?after=2026-01-01T00:00:00Z")
        assert fragment.status_code == 303
        htmx = await web.client.get(
            "/timeline/new?after=2026-01-01T00:00:00Z",
            headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/?type=x"},
        )
        assert htmx.status_code == 401
        assert htmx.headers["hx-redirect"] == "/login?next=/%3Ftype%3Dx"
        form = await web.client.get("/login")
        assert form.status_code == 200
        assert 'type="password"' in form.text


async def test_login_sets_a_safe_session_cookie_and_logout_ends_it(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        response = await login(web.client)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("shelfcam_session=")
        )
        session_id = cookie.split(";")[0].split("=", 1)[1]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        with psycopg.connect(db_url) as conn:
            rows = conn.execute("SELECT session_hash FROM admin_sessions").fetchall()
        # Only a hash of the session id is stored.
        assert [bytes(r[0]) for r in rows] == [admins.hash_secret("session", session_id)]
        home = await web.client.get("/")
        assert home.status_code == 200
        assert "Timeline" in home.text
        assert (await web.client.get("/api/v1/events")).status_code == 200

        # Logout without the CSRF token is refused and changes nothing.
        refused = await web.client.post("/logout", data={})
        assert refused.status_code == 403
        assert refused.json()["error"] == "csrf_failed"
        wrong = await web.client.post("/logout", data={"csrf_token": "x" * 43})
        assert wrong.status_code == 403
        assert (await web.client.get("/api/v1/events")).status_code == 200

        out = await web.client.post("/logout", data={"csrf_token": csrf_of(home.text)})
        assert out.status_code == 303
        assert out.headers["location"] == "/login"
        assert (await web.client.get("/api/v1/events")).status_code == 401
        assert (await web.client.get("/")).status_code == 303
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM admin_sessions").fetchone() == (0,)


async def test_every_post_route_with_a_session_needs_the_csrf_token(
    db_url: str, tmp_path: Path
) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        assert (await login(web.client)).status_code == 303
        posts = [
            route.path
            for route in _routes()
            if "POST" in (route.methods or ())
            and not route.path.startswith(("/api/v1/ingest", "/login"))
        ]
        assert "/logout" in posts
        for path in posts:
            response = await web.client.post(path, data={"anything": "1"})
            assert response.status_code == 403, path
        # The session survived all of it.
        assert (await web.client.get("/api/v1/devices")).status_code == 200


async def test_login_form_without_its_csrf_token_is_refused(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        response = await web.client.post(
            "/login", data={"username": "admin", "password": PASSWORD, "next": "/"}
        )
        assert response.status_code == 403
        assert "expired" in response.text
        assert "shelfcam_session" not in response.headers.get("set-cookie", "")
        assert (await web.client.get("/api/v1/events")).status_code == 401


async def test_wrong_password_is_refused_and_never_logged(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        wrong = "hunter2-not-the-password"
        response = await login(web.client, password=wrong)
        assert response.status_code == 401
        assert "Wrong user name or password" in response.text
        unknown = await login(web.client, username="nobody", password=wrong)
        assert unknown.status_code == 401
        ok = await login(web.client)
        assert ok.status_code == 303
    assert "action=login_failed" in caplog.text
    assert "action=login " in caplog.text
    assert wrong not in caplog.text
    assert PASSWORD not in caplog.text


async def test_login_next_stays_on_this_site(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        form = await web.client.get("/login?next=//evil.example/x")
        response = await web.client.post(
            "/login",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": "https://evil.example/",
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/"


async def test_repeated_failed_logins_are_throttled(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path, login_free_attempts=3) as web:
        await create_user(db_url)
        for _ in range(3):
            assert (await login(web.client, password="wrong-password")).status_code == 401
        # Three free failures: now every attempt waits, even with the right password.
        blocked = await login(web.client)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        assert "Too many failed logins" in blocked.text
        assert "shelfcam_session" not in blocked.headers.get("set-cookie", "")
        with psycopg.connect(db_url, autocommit=True) as conn:
            rows: dict[object, object] = dict(
                conn.execute(
                    "SELECT subject, failures FROM login_throttle ORDER BY subject"
                ).fetchall()
            )
            assert rows == {"addr:203.0.113.7": 3, "user:admin@203.0.113.7": 3}
            # Let the wait run out (instead of sleeping through it).
            conn.execute("UPDATE login_throttle SET blocked_until = now() - interval '1 s'")
        assert (await login(web.client)).status_code == 303
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM login_throttle").fetchone() == (0,)


async def test_new_password_ends_existing_sessions(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        assert (await login(web.client)).status_code == 303
        assert (await web.client.get("/api/v1/events")).status_code == 200
        await create_user(db_url, password="another password")
        assert (await web.client.get("/api/v1/events")).status_code == 401
        assert (await login(web.client)).status_code == 401
        assert (await login(web.client, password="another password")).status_code == 303


async def test_expired_session_is_no_session(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        assert (await login(web.client)).status_code == 303
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("UPDATE admin_sessions SET expires_at = now() - interval '1 s'")
        assert (await web.client.get("/api/v1/events")).status_code == 401
        assert (await web.client.get("/")).status_code == 303


async def test_old_failures_are_forgotten(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path, login_free_attempts=3) as web:
        await create_user(db_url)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO login_throttle (subject, failures, last_failure_at) VALUES"
                " ('user:admin@203.0.113.7', 50, now() - interval '2 days'),"
                " ('user:made-up@203.0.113.7', 3, now() - interval '2 days')"
            )
        # Fifty failures long ago do not block today's first mistake.
        assert (await login(web.client, password="wrong-password")).status_code == 401
        assert (await login(web.client)).status_code == 303
        web.client.cookies.clear()
        assert (await login(web.client, username="x", password="wrong-password")).status_code == 401
        with psycopg.connect(db_url) as conn:
            subjects = [r[0] for r in conn.execute("SELECT subject FROM login_throttle")]
        assert sorted(subjects) == ["addr:203.0.113.7", "user:x@203.0.113.7"]


async def test_control_characters_are_refused_not_crashes(db_url: str, tmp_path: Path) -> None:
    async with running_app(db_url, tmp_path) as web:
        await create_user(db_url)
        # PostgreSQL text cannot hold NUL: these must be refused before any query.
        bad_login = await login(web.client, username="ad\x00min", password="x\x00y")
        assert bad_login.status_code == 401
        form = await web.client.get("/login")
        odd_next = await web.client.post(
            "/login",
            data={
                "username": "admin",
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": "/\x00\r\nSet-Cookie: x=1",
            },
        )
        assert odd_next.status_code == 303
        assert odd_next.headers["location"] == "/"
        assert (await web.client.get("/?device=a%00b")).status_code == 400
        api = await web.client.get("/api/v1/events?device=a%00b")
        assert api.status_code == 422
        token = {"Authorization": "Bearer shcadm_\x01"}
        web.client.cookies.clear()
        assert (await web.client.get("/api/v1/devices", headers=token)).status_code == 401

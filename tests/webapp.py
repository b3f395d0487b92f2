"""The web app on a test database, driven in-process through httpx's ASGITransport."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from argon2 import PasswordHasher
from fastapi import FastAPI

from shelfcam.accounts import admins
from shelfcam.config import Settings, load_settings
from shelfcam.db.connect import connection
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.store import FrameStore
from shelfcam.web.app import create_app

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebApp:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    store: FrameStore
    db_url: str


@asynccontextmanager
async def running_app(db_url: str, data_dir: Path, **overrides: Any) -> AsyncIterator[WebApp]:
    """The app with its lifespan started (pool open) and a client that keeps cookies."""
    settings = load_settings(data_dir=data_dir, database_url=db_url, **overrides)
    app = create_app(settings, db_url)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield WebApp(app, client, settings, FileFrameStore(data_dir), db_url)


async def create_user(db_url: str, username: str = "admin", password: str = PASSWORD) -> None:
    async with connection(db_url) as conn:
        await admins.set_password(conn, username, password)


def create_user_sync(db_url: str, username: str = "admin", password: str = PASSWORD) -> None:
    """The same, from code that already runs an event loop (Playwright's sync API)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO admin_users (username, password_hash) VALUES (%s, %s)",
            (username, PasswordHasher().hash(password)),
        )


async def create_token(db_url: str, name: str | None = None) -> str:
    """A new admin token (named ``api``, ``api-2``, ... unless ``name`` is given)."""
    async with connection(db_url) as conn:
        return (await admins.create_token(conn, name)).token


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


async def login(
    client: httpx.AsyncClient, username: str = "admin", password: str = PASSWORD
) -> httpx.Response:
    """Load the login form (for its CSRF token) and submit it."""
    form = await client.get("/login")
    assert form.status_code == 200, form.text
    return await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(form.text),
            "next": "/",
        },
    )

"""Running the real ASGI app (with its lifespan) against a test database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI

from shelfcam.config import Settings, load_settings
from shelfcam.db.connect import connection
from shelfcam.devices import add_device
from shelfcam.web.app import create_app


def settings_for(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    return load_settings(database_url=db_url, data_dir=data_dir, **overrides)


@contextlib.asynccontextmanager
async def asgi_client(
    settings: Settings, *, with_worker: bool = False
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan running (and its analysis worker, as `serve` runs it, with
    ``with_worker``), and an httpx client speaking ASGI to it."""
    assert settings.database_url is not None
    app = create_app(settings, settings.database_url, with_worker=with_worker)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://shelfcam.test"
        ) as client:
            yield app, client


async def new_device(db_url: str, name: str = "cam1") -> str:
    """Create a device; return its token."""
    async with connection(db_url) as conn:
        return (await add_device(conn, name)).token


def count(db_url: str, sql: str, *params: object) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []

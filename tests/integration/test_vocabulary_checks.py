"""The database's CHECK constraints hold the same lists as shelfcam.vocabulary: a value the
code can write is one the schema accepts, and the other way round."""

from __future__ import annotations

import re
import uuid

import psycopg
import pytest

from shelfcam import vocabulary

pytestmark = pytest.mark.db

COLUMNS = {
    ("events", "event_type"): vocabulary.EVENT_TYPES,
    ("event_images", "role"): vocabulary.IMAGE_ROLES,
    ("captures", "storage_class"): vocabulary.STORAGE_CLASSES,
    ("captures", "analysis_status"): vocabulary.ANALYSIS_STATUSES,
    ("output_outbox", "kind"): vocabulary.DELIVERY_KINDS,
}


def allowed_values(
    conn: psycopg.Connection[tuple[object, ...]], table: str, column: str
) -> set[str]:
    """The string values the CHECK constraints on ``table.column`` list (``column IN (...)``,
    which PostgreSQL keeps as ``column = ANY (ARRAY[...])``)."""
    rows = conn.execute(
        """
        SELECT pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.contype = 'c' AND c.conrelid = %s::regclass AND a.attname = %s
        """,
        (table, column),
    ).fetchall()
    found: set[str] = set()
    for (definition,) in rows:
        assert isinstance(definition, str)
        if "ANY (ARRAY[" in definition:
            found |= set(re.findall(r"'([^']*)'::text", definition))
    return found


@pytest.mark.parametrize(("table", "column"), list(COLUMNS))
def test_check_constraint_lists_the_vocabulary(db_url: str, table: str, column: str) -> None:
    with psycopg.connect(db_url) as conn:
        assert allowed_values(conn, table, column) == set(COLUMNS[table, column])


def test_the_database_refuses_a_word_outside_the_vocabulary(db_url: str) -> None:
    """The comparison above reads real constraints: one of them refuses a new type."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO devices (device_id, token_hash) VALUES ('pantry', %s)", (b"x" * 32,)
        )
        for event_type in vocabulary.EVENT_TYPES:
            conn.execute(
                "INSERT INTO events (event_id, device_id, event_type, started_at)"
                " VALUES (%s, 'pantry', %s, now())",
                (uuid.uuid4(), event_type),
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO events (event_id, device_id, event_type, started_at)"
                " VALUES (%s, 'pantry', 'stock_taken', now())",
                (uuid.uuid4(),),
            )


def test_the_device_name_check_is_the_vocabulary_pattern(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname = 'devices_device_id_slug'"
        ).fetchone()
    assert row is not None
    assert f"'^{vocabulary.DEVICE_ID_PATTERN.pattern}$'" in str(row[0])

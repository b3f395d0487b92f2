"""Queries on admin accounts, sessions, API tokens and the failed-login throttle."""

from __future__ import annotations

from datetime import timedelta

from shelfcam.db.types import Conn, Row

# A subject's failure count starts again after this long without a failure.
FAILURE_MEMORY = timedelta(hours=24)


async def upsert_user(conn: Conn, username: str, password_hash: str) -> bool:
    """Create the user or replace its password; end its sessions. True if it was new."""
    async with conn.transaction():
        cur = await conn.execute(
            """
            INSERT INTO admin_users (username, password_hash) VALUES (%s, %s)
            ON CONFLICT (username) DO UPDATE
                SET password_hash = excluded.password_hash, updated_at = now()
            RETURNING (xmax = 0) AS inserted
            """,
            (username, password_hash),
        )
        row = await cur.fetchone()
        await conn.execute("DELETE FROM admin_sessions WHERE username = %s", (username,))
    return bool(row and row["inserted"])


async def password_hash(conn: Conn, username: str) -> str | None:
    cur = await conn.execute(
        "SELECT password_hash FROM admin_users WHERE username = %s", (username,)
    )
    row = await cur.fetchone()
    return None if row is None else str(row["password_hash"])


async def set_password_hash(conn: Conn, username: str, new_hash: str) -> None:
    """Store a re-hashed password (stronger parameters) without ending sessions."""
    await conn.execute(
        "UPDATE admin_users SET password_hash = %s WHERE username = %s", (new_hash, username)
    )


async def insert_session(
    conn: Conn,
    session_hash: bytes,
    *,
    username: str,
    csrf_token: str,
    max_age: timedelta,
    user_agent: str,
) -> None:
    async with conn.transaction():
        await conn.execute("DELETE FROM admin_sessions WHERE expires_at <= now()")
        await conn.execute(
            "INSERT INTO admin_sessions (session_hash, username, csrf_token, expires_at,"
            " user_agent) VALUES (%s, %s, %s, now() + %s, %s)",
            (session_hash, username, csrf_token, max_age, user_agent[:300]),
        )


async def live_session(conn: Conn, session_hash: bytes) -> Row | None:
    """The unexpired session with this hash: username, csrf_token, expires_at."""
    cur = await conn.execute(
        "SELECT username, csrf_token, expires_at FROM admin_sessions"
        " WHERE session_hash = %s AND expires_at > now()",
        (session_hash,),
    )
    return await cur.fetchone()


async def delete_session(conn: Conn, session_hash: bytes) -> None:
    await conn.execute("DELETE FROM admin_sessions WHERE session_hash = %s", (session_hash,))


async def insert_token(conn: Conn, name: str, token_hash: bytes) -> int:
    cur = await conn.execute(
        "INSERT INTO admin_tokens (name, token_hash) VALUES (%s, %s) RETURNING token_id",
        (name, token_hash),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["token_id"])


async def token_name(conn: Conn, token_hash: bytes) -> str | None:
    """The name of the live token with this hash, noting its use (at most every minute)."""
    cur = await conn.execute(
        """
        WITH hit AS (
            SELECT token_id, name, last_used_at FROM admin_tokens
            WHERE token_hash = %s AND NOT revoked
        ), touched AS (
            UPDATE admin_tokens t SET last_used_at = now()
            FROM hit
            WHERE t.token_id = hit.token_id
              AND (hit.last_used_at IS NULL OR hit.last_used_at < now() - interval '1 minute')
        )
        SELECT name FROM hit
        """,
        (token_hash,),
    )
    row = await cur.fetchone()
    return None if row is None else str(row["name"])


async def blocked_for(conn: Conn, subjects: list[str]) -> float:
    """Seconds until every subject may try again (0.0 when none is blocked)."""
    cur = await conn.execute(
        "SELECT coalesce(extract(epoch FROM max(blocked_until) - now()), 0)::float8 AS wait"
        " FROM login_throttle WHERE subject = ANY(%s) AND blocked_until > now()",
        (subjects,),
    )
    row = await cur.fetchone()
    return 0.0 if row is None else max(0.0, float(row["wait"]))


async def count_failure(conn: Conn, subject: str) -> int:
    """Note one more failed login of ``subject``; return its failure count.

    Also forgets subjects with no failure for a day (made-up user names pile up otherwise).
    """
    await conn.execute(
        "DELETE FROM login_throttle WHERE last_failure_at < now() - %s"
        " AND (blocked_until IS NULL OR blocked_until < now())",
        (FAILURE_MEMORY,),
    )
    cur = await conn.execute(
        """
        INSERT INTO login_throttle AS t (subject, failures, last_failure_at)
        VALUES (%s, 1, now())
        ON CONFLICT (subject) DO UPDATE SET
            failures = CASE WHEN t.last_failure_at < now() - %s THEN 1 ELSE t.failures + 1 END,
            last_failure_at = now()
        RETURNING failures
        """,
        (subject, FAILURE_MEMORY),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["failures"])


async def block(conn: Conn, subject: str, seconds: float) -> None:
    await conn.execute(
        "UPDATE login_throttle SET blocked_until = now() + make_interval(secs => %s)"
        " WHERE subject = %s",
        (seconds, subject),
    )


async def forget_failures(conn: Conn, subjects: list[str]) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE subject = ANY(%s)", (subjects,))

"""Queries on admin accounts, sessions, API tokens and the failed-login throttle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from shelfcam.db.types import Conn, Row

DelayRule = Callable[[int], float]
"""Failures in a row -> seconds every further attempt waits (shelfcam.accounts.backoff)."""

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


async def insert_token(
    conn: Conn, name: str, token_hash: bytes, expires_in: timedelta | None
) -> Row | None:
    """A new live token named ``name`` (an expired one of that name is revoked first);
    None if a live token already has the name. Returns token_id, name, expires_at."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE admin_tokens SET revoked = true, revoked_at = now()"
            " WHERE name = %s AND NOT revoked AND expires_at <= now()",
            (name,),
        )
        cur = await conn.execute(
            """
            INSERT INTO admin_tokens (name, token_hash, expires_at)
            VALUES (%s, %s, now() + %s)
            ON CONFLICT (name) WHERE NOT revoked DO NOTHING
            RETURNING token_id, name, expires_at
            """,
            (name, token_hash, expires_in),
        )
        return await cur.fetchone()


async def live_token_names(conn: Conn, prefix: str) -> list[str]:
    """Names of the live (not revoked) tokens that start with ``prefix``."""
    cur = await conn.execute(
        "SELECT name FROM admin_tokens WHERE NOT revoked AND starts_with(name, %s)", (prefix,)
    )
    return [str(row["name"]) for row in await cur.fetchall()]


async def list_tokens(conn: Conn) -> list[Row]:
    """Every token, newest first: name, created_at, last_used_at, expires_at, revoked_at,
    state ('active', 'expired' or 'revoked'). Never a hash."""
    cur = await conn.execute(
        """
        SELECT name, created_at, last_used_at, expires_at, revoked_at,
               CASE WHEN revoked THEN 'revoked'
                    WHEN expires_at <= now() THEN 'expired'
                    ELSE 'active' END AS state
        FROM admin_tokens ORDER BY revoked, created_at DESC, token_id DESC
        """
    )
    return await cur.fetchall()


async def revoke_token(conn: Conn, name: str) -> bool:
    """Revoke the live token named ``name``; False if there is none."""
    cur = await conn.execute(
        "UPDATE admin_tokens SET revoked = true, revoked_at = now()"
        " WHERE name = %s AND NOT revoked RETURNING token_id",
        (name,),
    )
    return await cur.fetchone() is not None


async def token_exists(conn: Conn, name: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM admin_tokens WHERE name = %s LIMIT 1", (name,))
    return await cur.fetchone() is not None


async def token_name(conn: Conn, token_hash: bytes) -> str | None:
    """The name of the live, unexpired token with this hash, noting its use (at most every
    minute)."""
    cur = await conn.execute(
        """
        WITH hit AS (
            SELECT token_id, name, last_used_at FROM admin_tokens
            WHERE token_hash = %s AND NOT revoked
              AND (expires_at IS NULL OR expires_at > now())
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


async def reserve_attempt(conn: Conn, subjects: list[str], delay_after: DelayRule) -> float:
    """Count one more login attempt for every subject *before* the password is checked,
    or refuse it: returns the seconds to wait when a subject is blocked (nothing counted),
    else 0.0 with each subject's failure count raised by one and its next block set.

    The subjects' rows are locked (in one order) for the check and the count together,
    so concurrent attempts never both pass a check meant for one of them. A good login
    then forgets them (:func:`forget_failures`); a bad one is already counted. A count
    starts again after FAILURE_MEMORY without a failure; subjects idle that long go.
    """
    ordered = sorted(set(subjects))
    async with conn.transaction():
        await conn.execute(
            "DELETE FROM login_throttle WHERE last_failure_at < now() - %s"
            " AND (blocked_until IS NULL OR blocked_until < now())",
            (FAILURE_MEMORY,),
        )
        await conn.execute(
            "INSERT INTO login_throttle (subject, failures, last_failure_at)"
            " SELECT s, 0, now() FROM unnest(%s::text[]) AS s ORDER BY s"
            " ON CONFLICT (subject) DO NOTHING",
            (ordered,),
        )
        cur = await conn.execute(
            """
            SELECT subject,
                   CASE WHEN last_failure_at < now() - %s THEN 0 ELSE failures END AS failures,
                   coalesce(extract(epoch FROM blocked_until - now()), 0)::float8 AS wait
            FROM login_throttle WHERE subject = ANY(%s) ORDER BY subject FOR UPDATE
            """,
            (FAILURE_MEMORY, ordered),
        )
        rows = await cur.fetchall()
        wait = max((float(row["wait"]) for row in rows), default=0.0)
        if wait > 0:
            return wait
        for row in rows:
            failures = int(row["failures"]) + 1
            await conn.execute(
                "UPDATE login_throttle SET failures = %s, last_failure_at = now(),"
                " blocked_until = CASE WHEN %s > 0"
                " THEN now() + make_interval(secs => %s) END WHERE subject = %s",
                (failures, delay_after(failures), delay_after(failures), row["subject"]),
            )
    return 0.0


async def trusted_device_user(conn: Conn, device_hash: bytes) -> str | None:
    """The user a browser's login-device cookie belongs to, if it is known."""
    cur = await conn.execute(
        "SELECT username FROM admin_login_devices WHERE device_hash = %s", (device_hash,)
    )
    row = await cur.fetchone()
    return None if row is None else str(row["username"])


async def remember_device(conn: Conn, device_hash: bytes, username: str, keep: int) -> None:
    """Record (or refresh) a browser that logged in; keep the user's ``keep`` newest."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO admin_login_devices (device_hash, username) VALUES (%s, %s)"
            " ON CONFLICT (device_hash) DO UPDATE SET last_used_at = now()",
            (device_hash, username),
        )
        await conn.execute(
            """
            DELETE FROM admin_login_devices WHERE username = %s AND device_hash NOT IN (
                SELECT device_hash FROM admin_login_devices WHERE username = %s
                ORDER BY last_used_at DESC LIMIT %s
            )
            """,
            (username, username, keep),
        )


async def forget_failures(conn: Conn, subjects: list[str]) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE subject = ANY(%s)", (subjects,))

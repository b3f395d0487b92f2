"""Admin accounts, sessions and API tokens: the services behind the CLI and the web UI.

Passwords are hashed with argon2 (argon2-cffi's defaults). Session ids and API tokens are
256-bit random values, shown once (the session id lives only in the browser's cookie);
the database keeps their SHA-256, so a copy of the database opens no session.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shelfcam import backoff
from shelfcam.db import admin as queries
from shelfcam.db.types import Conn
from shelfcam.errors import InvalidInput, TooManyRequests, Unauthorized

log = logging.getLogger(__name__)

DEFAULT_USER = "admin"
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "shcadm_"  # noqa: S105 - makes admin tokens recognisable, not a secret
SESSION_BYTES = 32


def validate_username(name: str) -> str:
    if not USERNAME_PATTERN.fullmatch(name) or not name.isascii():
        raise InvalidInput(
            f"user name {name!r} is not valid: use 1-63 characters a-z, 0-9, '.', '-' or '_'"
        )
    return name


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")
    return password


def hash_secret(kind: str, value: str) -> bytes:
    """SHA-256 of a random secret (session id, API token), separated by kind."""
    return hashlib.sha256(f"shelfcam-{kind}:".encode() + value.encode()).digest()


def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so both paths cost the same."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _verify(stored: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, a stronger re-hash if the stored one's parameters are outdated)."""
    hasher = _hasher()
    try:
        hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, hasher.hash(password) if hasher.check_needs_rehash(stored) else None


async def set_password(conn: Conn, username: str, password: str) -> bool:
    """Create the user or change its password (ending its sessions); True if new."""
    validate_username(username)
    validate_password(password)
    hashed = await anyio.to_thread.run_sync(_hasher().hash, password)
    created = await queries.upsert_user(conn, username, hashed)
    log.info("action=admin_password_set user=%s created=%s", username, created)
    return created


async def create_token(conn: Conn, name: str) -> str:
    """A new admin API token; only its hash is stored, so it is shown once."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("a token name needs 1-100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(SESSION_BYTES)
    token_id = await queries.insert_token(conn, name, hash_secret("admin-token", token))
    log.info("action=admin_token_created token_id=%d name=%s", token_id, name)
    return token


async def token_owner(conn: Conn, token: str) -> str | None:
    """The name of the admin token, or None if it is unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return await queries.token_name(conn, hash_secret("admin-token", token))


@dataclass(frozen=True)
class Session:
    username: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class NewSession:
    session_id: str
    session: Session
    device_token: str | None = None
    """A new login-device value for the browser's cookie (None: it keeps the one it sent)."""


LOGIN_DEVICES_KEPT = 20


def _subjects(username: str, address: str) -> list[str]:
    """Throttle keys of a stranger's attempt: this user name *from this address*, and this
    address whatever the name. Every name that cannot exist shares one key (and no NUL
    reaches SQL)."""
    user = username if USERNAME_PATTERN.fullmatch(username) else "?invalid"
    addr = address.replace(chr(0), "?")[:100]
    return [f"user:{user}@{addr}", f"addr:{addr}"]


def _device_hash(device_token: str | None) -> bytes | None:
    if not device_token or len(device_token) > 100:
        return None
    return hash_secret("login-device", device_token)


async def login(
    conn: Conn,
    username: str,
    password: str,
    *,
    address: str,
    policy: backoff.BackoffPolicy,
    max_age: timedelta,
    user_agent: str = "",
    device_token: str | None = None,
) -> NewSession:
    """Check the password and open a session; throttle repeated failures.

    The attempt is counted before the password is checked (so concurrent guesses cannot
    all slip under the limit) and forgotten when it succeeds. A browser that has logged
    in as this user before (its ``device_token``) is throttled on its own, so failures
    by others, from anywhere, never lock it out; anyone else is throttled per user name
    and address, and per address.
    """
    username = username.strip().lower()
    device = _device_hash(device_token)
    trusted = device is not None and await queries.trusted_device_user(conn, device) == username
    subjects = [f"device:{device.hex()}"] if trusted and device else _subjects(username, address)
    wait = await queries.reserve_attempt(
        conn, subjects, lambda failures: backoff.delay_after(failures, policy)
    )
    if wait > 0:
        log.warning(
            "action=login_throttled user=%s addr=%s known_browser=%s", username, address, trusted
        )
        seconds = max(1, int(wait + 0.999))
        raise TooManyRequests(
            f"too many failed logins; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
    valid_name = USERNAME_PATTERN.fullmatch(username) is not None
    stored = await queries.password_hash(conn, username) if valid_name else None
    ok, rehash = await anyio.to_thread.run_sync(_verify, stored, password[:MAX_PASSWORD_LENGTH])
    if not ok:
        log.warning(
            "action=login_failed user=%s addr=%s known_browser=%s", username, address, trusted
        )
        raise Unauthorized("wrong user name or password")
    if rehash is not None:
        await queries.set_password_hash(conn, username, rehash)
    await queries.forget_failures(conn, subjects)
    new_device = None
    if not trusted or device is None:
        new_device = secrets.token_urlsafe(SESSION_BYTES)
        device = hash_secret("login-device", new_device)
    await queries.remember_device(conn, device, username, LOGIN_DEVICES_KEPT)
    new = await open_session(conn, username, max_age=max_age, user_agent=user_agent)
    log.info("action=login user=%s addr=%s", username, address)
    return NewSession(new.session_id, new.session, new_device)


async def open_session(
    conn: Conn, username: str, *, max_age: timedelta, user_agent: str = ""
) -> NewSession:
    session_id = secrets.token_urlsafe(SESSION_BYTES)
    csrf = secrets.token_urlsafe(SESSION_BYTES)
    await queries.insert_session(
        conn,
        hash_secret("session", session_id),
        username=username,
        csrf_token=csrf,
        max_age=max_age,
        user_agent=user_agent,
    )
    row = await queries.live_session(conn, hash_secret("session", session_id))
    assert row is not None
    return NewSession(session_id, Session(username, csrf, row["expires_at"]))


async def session_for(conn: Conn, session_id: str) -> Session | None:
    if not session_id or len(session_id) > 100:
        return None
    row = await queries.live_session(conn, hash_secret("session", session_id))
    if row is None:
        return None
    return Session(str(row["username"]), str(row["csrf_token"]), row["expires_at"])


async def close_session(conn: Conn, session_id: str) -> None:
    await queries.delete_session(conn, hash_secret("session", session_id))

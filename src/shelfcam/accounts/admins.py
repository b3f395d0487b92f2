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

from shelfcam.accounts import backoff
from shelfcam.db import admin as queries
from shelfcam.db.types import Conn
from shelfcam.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthorized

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


_DURATION = re.compile(r"(\d{1,6})([mhdw])")
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_TOKEN_LIFETIME = timedelta(days=3650)
DEFAULT_TOKEN_NAME = "api"  # noqa: S105 - a label, not a secret


def parse_lifetime(text: str) -> timedelta:
    """``30m``, ``12h``, ``90d`` or ``8w``: how long a new token works (1 minute to 10 years)."""
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise InvalidInput(
            f"{text!r} is not a duration: give a number and m, h, d or w (e.g. 90d, 12h)"
        )
    lifetime = timedelta(seconds=int(found.group(1)) * _DURATION_UNITS[found.group(2)])
    if not timedelta(minutes=1) <= lifetime <= MAX_TOKEN_LIFETIME:
        raise InvalidInput("a token's lifetime must be between 1 minute and 10 years")
    return lifetime


def validate_token_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100 or not name.isprintable():
        raise InvalidInput("a token name needs 1-100 printable characters")
    return name


@dataclass(frozen=True)
class NewToken:
    name: str
    token: str
    """Shown once: only its hash is stored."""
    expires_at: datetime | None


async def create_token(
    conn: Conn, name: str | None = None, *, expires_in: timedelta | None = None
) -> NewToken:
    """A new admin API token; only its hash is stored, so it is shown once. Without a
    name, ``api`` (or ``api-2``, ``api-3``, ... when taken); a name that a live token
    already has is refused (:class:`Conflict`): revoke that one first."""
    if name is None:
        taken = set(await queries.live_token_names(conn, DEFAULT_TOKEN_NAME))
        name = DEFAULT_TOKEN_NAME
        number = 1
        while name in taken:
            number += 1
            name = f"{DEFAULT_TOKEN_NAME}-{number}"
    name = validate_token_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(SESSION_BYTES)
    row = await queries.insert_token(conn, name, hash_secret("admin-token", token), expires_in)
    if row is None:
        raise Conflict(
            f"a live admin token is already named {name!r}: choose another name, or "
            f"revoke it first (shelfcam admin token revoke {name})"
        )
    log.info(
        "action=admin_token_created token_id=%d name=%s expires_at=%s",
        row["token_id"],
        name,
        row["expires_at"],
    )
    return NewToken(name, token, row["expires_at"])


@dataclass(frozen=True)
class TokenInfo:
    name: str
    state: str
    """``active``, ``expired`` or ``revoked``."""
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, object]:
        def stamp(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "name": self.name,
            "state": self.state,
            "created_at": stamp(self.created_at),
            "last_used_at": stamp(self.last_used_at),
            "expires_at": stamp(self.expires_at),
            "revoked_at": stamp(self.revoked_at),
        }


async def list_tokens(conn: Conn) -> list[TokenInfo]:
    """Every admin token (never the token or its hash): live ones first, newest first."""
    return [
        TokenInfo(
            name=str(row["name"]),
            state=str(row["state"]),
            created_at=row["created_at"],
            last_used_at=row["last_used_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
        )
        for row in await queries.list_tokens(conn)
    ]


async def revoke_token(conn: Conn, name: str) -> bool:
    """Revoke the live token named ``name`` (it stops working at once); False if it was
    already revoked. :class:`NotFound` if no token ever had the name."""
    name = name.strip()
    if await queries.revoke_token(conn, name):
        log.info("action=admin_token_revoked name=%s", name)
        return True
    if not await queries.token_exists(conn, name):
        raise NotFound(f"no admin token is named {name!r} (shelfcam admin token list)")
    return False


async def token_owner(conn: Conn, token: str) -> str | None:
    """The name of the admin token, or None if it is unknown, revoked or expired."""
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

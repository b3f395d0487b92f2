"""Pull URLs: checked when set, split into the address to fetch and its credentials, and
shown with the credentials replaced (never the password, in a page, a log or a command's
output)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from shelfcam.errors import InvalidInput

MAX_URL_LENGTH = 2048
MIN_INTERVAL_MS = 50
MAX_INTERVAL_MS = 3_600_000
HIDDEN = "***"


@dataclass(frozen=True)
class PullUrl:
    address: str
    """The URL without its user:password@ (what is fetched)."""
    username: str | None
    password: str | None
    shown: str
    """The URL as shown: ``http://***@host/path`` when it has credentials."""


def _host(netloc: str) -> str:
    return netloc.rpartition("@")[2]


def parse(url: str, what: str = "--pull-url") -> PullUrl:
    """Check a pull URL: http or https, a host, at most 2048 characters, no fragment."""
    text = url.strip()
    if not text:
        raise InvalidInput(f"{what} is empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidInput(f"{what} is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise InvalidInput(f"{what} contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise InvalidInput(f"{what} is not a valid URL ({err})") from err
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"{what} must start with http:// or https:// (a snapshot URL such as "
            "http://cam.local/capture, or a stream such as http://cam.local:81/stream)"
        )
    if not parts.hostname:
        raise InvalidInput(f"{what} has no host")
    if parts.fragment:
        raise InvalidInput(f"{what} must not have a #fragment")
    del port
    host = _host(parts.netloc)
    address = urlunsplit((parts.scheme, host, parts.path or "/", parts.query, ""))
    has_user = parts.username is not None or parts.password is not None
    shown_netloc = f"{HIDDEN}@{host}" if has_user else host
    return PullUrl(
        address=address,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        shown=urlunsplit((parts.scheme, shown_netloc, parts.path or "/", parts.query, "")),
    )


def shown(url: str) -> str:
    """A stored URL as it may be shown (credentials replaced); never raises."""
    try:
        return parse(url).shown
    except InvalidInput:
        return "(invalid URL)"


def check_interval(interval_ms: int | None, what: str = "--pull-interval-ms") -> int | None:
    if interval_ms is None:
        return None
    if not MIN_INTERVAL_MS <= interval_ms <= MAX_INTERVAL_MS:
        raise InvalidInput(f"{what} must be between {MIN_INTERVAL_MS} and {MAX_INTERVAL_MS}")
    return interval_ms


def redact(text: str, url: PullUrl) -> str:
    """``text`` (an error message) with the URL's credentials replaced wherever they occur."""
    for secret in (url.password, url.username):
        if secret and len(secret) >= 3:  # shorter ones would mangle the text, not hide much
            text = text.replace(secret, HIDDEN)
    return text

"""The one error hierarchy of shelfcam.

Errors that reach HTTP carry their status and a short machine-readable code; a single
handler in the web layer renders them as ``{"error": code, "detail": ...}``.
"""

from __future__ import annotations


class ShelfcamError(Exception):
    """Root of every error shelfcam raises on purpose."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class ConfigError(ShelfcamError):
    """A setting is missing, malformed or out of range."""

    code = "config_error"


class InvalidInput(ShelfcamError):
    """The caller sent something we refuse (bad name, bad polygon, bad metadata)."""

    status = 400
    code = "invalid_input"

    def __init__(
        self, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail, headers=headers)
        if code is not None:
            self.code = code


class Unauthorized(ShelfcamError):
    """No session and no valid admin token (or a wrong password)."""

    status = 401
    code = "unauthorized"


class Forbidden(ShelfcamError):
    """Authenticated, but the request is refused (e.g. a form without its CSRF token)."""

    status = 403
    code = "forbidden"


class NotFound(ShelfcamError):
    status = 404
    code = "not_found"


class Gone(ShelfcamError):
    """It existed, but is no more (an event image removed by retention)."""

    status = 410
    code = "gone"


class Conflict(ShelfcamError):
    status = 409
    code = "conflict"


class TooManyRequests(ShelfcamError):
    """Too many failed attempts; the caller should wait (``Retry-After``)."""

    status = 429
    code = "too_many_requests"


class DatabaseUnavailable(ShelfcamError):
    """The database could not be reached; the caller may retry later."""

    status = 503
    code = "database_unavailable"


class ServerBusy(ShelfcamError):
    """Out of a shared resource (open files, connections) for a moment: retry later."""

    status = 503
    code = "server_busy"


class StorageError(ShelfcamError):
    """The frame store could not read or write a file."""

    status = 500
    code = "storage_error"


class StoreUnavailable(ShelfcamError):
    """The object store did not take or give a frame (unreachable, refused, timed out): the
    caller may retry later; nothing was kept."""

    status = 503
    code = "store_unavailable"


class PayloadTooLarge(ShelfcamError):
    status = 413
    code = "payload_too_large"


class NotAJpeg(ShelfcamError):
    """The body (or its image part) does not start with a JPEG start-of-image marker."""

    status = 415
    code = "unsupported_media_type"


class InvalidJpeg(ShelfcamError):
    """Starts like a JPEG but the header is broken, it is truncated or its size is absurd."""

    status = 422
    code = "invalid_jpeg"


class RateLimited(ShelfcamError):
    status = 429
    code = "rate_limited"


class InsufficientStorage(ShelfcamError):
    status = 507
    code = "insufficient_storage"

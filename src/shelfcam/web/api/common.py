"""What the JSON API's routes share: the path and query patterns, the 401 they all document,
and the dependencies they take (the app's context, the caller)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from shelfcam.vocabulary import DEVICE_ID_PATTERN
from shelfcam.web.auth import Principal, require_api_principal, require_api_writer
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.schemas import ErrorBody

DEVICE_ID_REGEX = f"^{DEVICE_ID_PATTERN.pattern}$"
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No session and no valid admin token"},
}

Context = Annotated[AppContext, Depends(get_context)]
Reader = Annotated[Principal, Depends(require_api_principal)]
"""Any admin: a session or an API token."""
Writer = Annotated[Principal, Depends(require_api_writer)]
"""An API token, or a session with its CSRF token in ``X-CSRF-Token``."""


def error(description: str) -> dict[str, Any]:
    """An error response for a route's OpenAPI description."""
    return {"model": ErrorBody, "description": description}

"""One handler renders every :class:`ShelfcamError` that reaches HTTP."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shelfcam.errors import ShelfcamError

log = logging.getLogger(__name__)


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


async def _render(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShelfcamError)
    status = exc.status if 400 <= exc.status < 600 else 500
    return JSONResponse(error_body(exc.code, exc.detail), status_code=status, headers=exc.headers)


_HTTP_CODES = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed"}


async def _http(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (an unknown path, a body that is not even text) in the same
    ``{"error", "detail"}`` shape as ours."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "action=unhandled_error path=%s error=%s",
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return JSONResponse(
        error_body("internal_error", "an unexpected error occurred"), status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShelfcamError, _render)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)

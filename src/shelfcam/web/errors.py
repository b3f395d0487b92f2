"""One handler renders every :class:`ShelfcamError` that reaches HTTP, and the few
exceptions that are not ours in the same ``{"error", "detail"}`` shape: Starlette's, and
a database that cannot be reached (503 with ``Retry-After``, on every route: pages, the
JSON API and ingest alike)."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from shelfcam.db.connect import RETRY_AFTER_S
from shelfcam.errors import DatabaseUnavailable, ShelfcamError

log = logging.getLogger(__name__)


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API, not htmx): answer with HTML."""
    path = request.url.path
    if path.startswith(("/api/", "/healthz", "/metrics", "/images/", "/snapshots/")):
        return False
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept and "HX-Request" not in request.headers


def _page(
    request: Request, status: int, title: str, message: str, headers: dict[str, str]
) -> Response:
    from shelfcam.web.templating import render

    values = {"title": title, "message": message}
    return render(request, "error.html", values, status_code=status, headers=headers)


async def _render(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShelfcamError)
    status = exc.status if 400 <= exc.status < 600 else 500
    if isinstance(exc, DatabaseUnavailable) and _wants_page(request):
        message = "The database cannot be reached right now. Try again in a few seconds."
        return _page(request, status, "Database unavailable", message, exc.headers)
    return JSONResponse(error_body(exc.code, exc.detail), status_code=status, headers=exc.headers)


async def _database(request: Request, exc: Exception) -> Response:
    """A driver error nobody translated: the database went away under a page or an API
    route. 503 with Retry-After, never 500."""
    assert isinstance(exc, psycopg.OperationalError)
    log.warning(
        "action=request_failed path=%s reason=database_unavailable error=%s",
        request.url.path,
        type(exc).__name__,
    )
    unavailable = DatabaseUnavailable(
        f"the database is unavailable: {type(exc).__name__}",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
    return await _render(request, unavailable)


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
    app.add_exception_handler(psycopg.OperationalError, _database)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)

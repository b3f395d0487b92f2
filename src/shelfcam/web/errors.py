"""One handler renders every :class:`ShelfcamError` that reaches HTTP, and the few
exceptions that are not ours in the same ``{"error", "detail"}`` shape: Starlette's,
FastAPI's validation errors, and a database that cannot be reached (503 with
``Retry-After``, on every route: pages, the JSON API and ingest alike)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

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
    return "text/html" in accept and "HX-Request" not in request.headers


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


def describe_validation(errors: list[Any]) -> str:
    """FastAPI's validation errors as one sentence: ``limit (query): Input should be ...``."""
    parts = []
    for problem in errors:
        location = [str(p) for p in problem.get("loc", ()) if p not in ("body",)]
        where = ""
        if location:
            kind, *name = location
            where = f"{'.'.join(name) or kind} ({kind})" if name else kind
        message = str(problem.get("msg", "invalid"))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "the request is not valid"


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    """A parameter or body FastAPI refused: 422 in our shape, not ``{"detail": [...]}``."""
    assert isinstance(exc, RequestValidationError)
    detail = describe_validation(list(exc.errors()))
    return JSONResponse(error_body("invalid_input", detail), status_code=422)


async def _disconnected(request: Request, exc: Exception) -> Response:
    """The client went away while its request was read: nobody to answer, nothing wrong
    here. One line at INFO, not an error with a traceback."""
    log.info("action=request_abandoned path=%s reason=client_disconnected", request.url.path)
    return Response(status_code=400)


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


_ERROR_BODY_SCHEMA = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "A short machine-readable code"},
        "detail": {"type": "string", "description": "What went wrong, for people"},
    },
}


def _openapi_with_our_errors(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents its own 422 body (``HTTPValidationError``); ours is ErrorBody."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorBody", _ERROR_BODY_SCHEMA)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            answer = operation.get("responses", {}).get("422")
            if answer is None:
                continue
            content = answer.get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                answer["description"] = "A parameter or body that does not validate"
                content["schema"] = {"$ref": "#/components/schemas/ErrorBody"}
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShelfcamError, _render)
    app.add_exception_handler(psycopg.OperationalError, _database)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(ClientDisconnect, _disconnected)
    app.add_exception_handler(Exception, _unexpected)
    app.openapi = lambda: _openapi_with_our_errors(app)  # type: ignore[method-assign]

"""One handler renders every :class:`ShelfcamError` that reaches HTTP."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shelfcam.errors import ShelfcamError


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


async def _render(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShelfcamError)
    status = exc.status if 400 <= exc.status < 600 else 500
    return JSONResponse(error_body(exc.code, exc.detail), status_code=status, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ShelfcamError, _render)

"""The admin tokens page: the API tokens (never their values), creating one (shown once,
in the answer to the POST) and revoking one. The same services as `shelfcam admin token`."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from shelfcam.accounts import admins
from shelfcam.errors import ShelfcamError
from shelfcam.web.auth import require_csrf, require_page_session
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Context = Annotated[AppContext, Depends(get_context)]
PageSession = Annotated[admins.Session, Depends(require_page_session)]
PostSession = Annotated[admins.Session, Depends(require_csrf)]

LIFETIMES = {"": "never", "1d": "1 day", "30d": "30 days", "90d": "90 days", "365d": "1 year"}
"""The form's choices of ``expires_in`` (any `--expires-in` value works from the CLI)."""
MESSAGES = {"revoked": "The token is revoked: it stops working now.", "already": "Already revoked."}


async def _tokens_page(
    request: Request,
    context: AppContext,
    session: admins.Session,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    new_name: str = "",
) -> Response:
    async with context.require_pool().connection() as conn:
        tokens = await admins.list_tokens(conn)
    values: dict[str, Any] = {
        "session": session,
        "tokens": tokens,
        "lifetimes": LIFETIMES,
        "message": message,
        "error": error,
        "new_name": new_name,
    }
    return render(request, "tokens.html", values, status_code=status_code)


@router.get("/tokens")
async def tokens_page(
    request: Request,
    context: Context,
    session: PageSession,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return await _tokens_page(request, context, session, message=MESSAGES.get(done))


@router.post("/tokens")
async def create_token(
    request: Request,
    context: Context,
    session: PostSession,
    name: Annotated[str, Form(max_length=100)] = "",
    expires_in: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        lifetime = admins.parse_lifetime(expires_in) if expires_in else None
        async with context.require_pool().connection() as conn:
            new = await admins.create_token(conn, name.strip() or None, expires_in=lifetime)
    except ShelfcamError as err:
        return await _tokens_page(
            request, context, session, error=err.detail, status_code=err.status, new_name=name
        )
    log.info("action=admin_token_created_in_ui name=%s user=%s", new.name, session.username)
    values = {"session": session, "new": new, "api_url": str(request.base_url).rstrip("/")}
    return render(request, "token_new.html", values)


@router.post("/tokens/revoke")
async def revoke_token(
    context: Context, session: PostSession, name: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    async with context.require_pool().connection() as conn:
        changed = await admins.revoke_token(conn, name)
    log.info("action=admin_token_revoked_in_ui name=%s user=%s", name, session.username)
    return RedirectResponse(f"/tokens?done={'revoked' if changed else 'already'}", 303)

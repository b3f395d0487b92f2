"""The login page, the login form's POST and logout."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from shelfcam.accounts import admins, backoff
from shelfcam.errors import TooManyRequests, Unauthorized
from shelfcam.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    optional_session,
    require_csrf,
    safe_next,
    set_session_cookie,
)
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.templating import render

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_DEVICE_COOKIE = "shelfcam_login_device"
"""Set after a good login: this browser is then never locked out by others' failures."""
LOGIN_DEVICE_MAX_AGE_S = 400 * 24 * 3600


def _login_page(
    request: Request,
    next_url: str,
    *,
    username: str = admins.DEFAULT_USER,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The form, with a fresh login CSRF token (double-submit: cookie and field)."""
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"next_url": next_url, "login_csrf": token, "username": username, "error": error},
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login")
async def login_form(
    request: Request,
    session: Annotated[admins.Session | None, Depends(optional_session)],
    next: str | None = None,
) -> Response:
    if session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login")
async def login_submit(
    request: Request,
    context: Annotated[AppContext, Depends(get_context)],
    *,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=admins.MAX_PASSWORD_LENGTH)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    next_url = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf_token or not hmac.compare_digest(csrf_token.encode(), cookie.encode()):
        log.warning("action=login_csrf_rejected addr=%s", client_address(request))
        return _login_page(
            request,
            next_url,
            username=username,
            error="The login form expired. Please try again.",
            status_code=403,
        )
    settings = context.settings
    policy = backoff.BackoffPolicy(
        free_attempts=settings.login_free_attempts,
        max_delay_s=float(settings.login_backoff_max_seconds),
    )
    max_age = timedelta(hours=settings.session_max_age_hours)
    try:
        async with context.require_pool().connection() as conn:
            new = await admins.login(
                conn,
                username,
                password,
                address=client_address(request),
                policy=policy,
                max_age=max_age,
                user_agent=request.headers.get("user-agent", ""),
                device_token=request.cookies.get(LOGIN_DEVICE_COOKIE),
            )
    except TooManyRequests as err:
        return _login_page(
            request,
            next_url,
            username=username,
            error=f"Too many failed logins. {err.detail.split('; ')[-1].capitalize()}.",
            status_code=429,
            headers=err.headers,
        )
    except Unauthorized:
        return _login_page(
            request,
            next_url,
            username=username,
            error="Wrong user name or password.",
            status_code=401,
        )
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(response, request, new.session_id, max_age)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    if new.device_token is not None:
        response.set_cookie(
            LOGIN_DEVICE_COOKIE,
            new.device_token,
            max_age=LOGIN_DEVICE_MAX_AGE_S,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


@router.post("/logout")
async def logout(
    request: Request,
    context: Annotated[AppContext, Depends(get_context)],
    session: Annotated[admins.Session, Depends(require_csrf)],
) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    async with context.require_pool().connection() as conn:
        await admins.close_session(conn, session_id)
    log.info("action=logout user=%s", session.username)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, request)
    return response

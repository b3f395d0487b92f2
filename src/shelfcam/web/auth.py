"""Who is asking: admin sessions (a cookie) for pages, sessions or admin tokens for the API.

- Pages need a session; without one they redirect (303) to ``/login?next=...``.
- The JSON API and the image routes accept a session cookie or ``Authorization: Bearer
  <admin token>``; without either they answer 401 ``{"error": "unauthorized", ...}``.
- Every POST made with a session carries the session's CSRF token (form field
  ``csrf_token`` or header ``X-CSRF-Token``); without it the request is refused (403).
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from shelfcam.accounts import admins
from shelfcam.errors import Forbidden, Unauthorized
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.errors import error_body

SESSION_COOKIE = "shelfcam_session"
LOGIN_CSRF_COOKIE = "shelfcam_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

_bearer = HTTPBearer(auto_error=False, description="An admin token: `shelfcam admin token create`")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The admin UI's session cookie"
)


class LoginRequired(Unauthorized):
    """A page was asked for without a session: send the browser to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__("log in first")
        self.next_url = next_url


class CsrfRejected(Forbidden):
    code = "csrf_failed"


@dataclass(frozen=True)
class Principal:
    kind: Literal["session", "token"]
    name: str


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another site) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    return value


def login_url(next_url: str) -> str:
    return "/login" if next_url == "/" else f"/login?next={quote(next_url, safe='/')}"


def client_address(request: Request) -> str:
    """The client's IP address (a proxy's X-Forwarded-For only when SHELFCAM_TRUSTED_PROXIES
    names the proxy); ``unknown`` when there is none or it is not an address."""
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return "unknown"


async def optional_session(
    request: Request, context: Annotated[AppContext, Depends(get_context)]
) -> admins.Session | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    async with context.require_pool().connection() as conn:
        return await admins.session_for(conn, session_id)


async def require_page_session(
    request: Request, session: Annotated[admins.Session | None, Depends(optional_session)]
) -> admins.Session:
    if session is None:
        url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(safe_next(url))
    return session


async def require_csrf(
    request: Request, session: Annotated[admins.Session, Depends(require_page_session)]
) -> admins.Session:
    """The session, if the request carries its CSRF token; else 403."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise CsrfRejected("this form is missing its CSRF token or it is stale; reload the page")
    return session


async def _token_or_session(
    context: AppContext,
    bearer: HTTPAuthorizationCredentials | None,
    session_id: str | None,
) -> Principal | admins.Session:
    """The admin token's owner when a token is sent (a wrong one is refused, never passed
    over for the cookie), else the cookie's session; neither: 401 JSON."""
    async with context.require_pool().connection() as conn:
        if bearer is not None:
            name = await admins.token_owner(conn, bearer.credentials)
            if name is None:
                raise Unauthorized(
                    "the admin token is not valid", headers={"WWW-Authenticate": "Bearer"}
                )
            return Principal("token", name)
        session = await admins.session_for(conn, session_id) if session_id else None
    if session is None:
        raise Unauthorized(
            "log in or send an admin token (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return session


async def require_api_principal(
    context: Annotated[AppContext, Depends(get_context)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_id: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """An admin token (Authorization: Bearer) or a session cookie; else 401 JSON."""
    found = await _token_or_session(context, bearer, session_id)
    return found if isinstance(found, Principal) else Principal("session", found.username)


async def require_api_writer(
    request: Request,
    context: Annotated[AppContext, Depends(get_context)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_id: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """For API calls that change something: an admin token, or a session cookie with the
    session's CSRF token in the ``X-CSRF-Token`` header (a cookie alone could be sent by
    another site's form); else 401 or 403."""
    found = await _token_or_session(context, bearer, session_id)
    if isinstance(found, Principal):
        return found
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), found.csrf_token.encode()):
        raise CsrfRejected(f"send the session's CSRF token in the {CSRF_HEADER} header")
    return Principal("session", found.username)


def set_session_cookie(
    response: Response, request: Request, session_id: str, max_age: timedelta
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(max_age.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    if request.headers.get("HX-Request"):
        # A fragment's request: htmx would swap a redirect's page into the fragment, so
        # ask it to navigate, and come back to the page (not the fragment) after login.
        current = urlsplit(request.headers.get("HX-Current-URL", "/"))
        page = current.path + (f"?{current.query}" if current.query else "")
        target = login_url(safe_next(page))
        return JSONResponse(
            error_body(exc.code, exc.detail), status_code=401, headers={"HX-Redirect": target}
        )
    return RedirectResponse(login_url(exc.next_url), status_code=303)


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)

"""Signing in (an API key, or a user name and the password an admin set) and out."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cairn.core.sessions import LIFETIME
from cairn.errors import AuthenticationError, PermissionDeniedError
from cairn.server.state import state_of
from cairn.server.ui.render import PageRoute, page
from cairn.server.ui.session import COOKIE, Writer, sessions_of

router = APIRouter(route_class=PageRoute)

# Before a session exists, the sign-in form is protected by a double-submit token: a random
# value in a SameSite=Strict cookie that the form must echo (a login-CSRF defence).
SIGNIN_COOKIE = "cairn_signin"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def signin_form(
    request: Request, *, status: int = 200, error: str | None = None, next_url: str | None = None
) -> Response:
    nonce = secrets.token_urlsafe(24)
    # Back to the page asked for, after signing in; not to a download (nor into its name).
    path = request.url.path
    if (
        next_url is None
        and request.method == "GET"
        and path != "/signin"
        and "/download/" not in path
    ):
        next_url = path + (f"?{request.url.query}" if request.url.query else "")
    response = page(
        request,
        "signin.html",
        {"error": error, "next": safe_next(next_url), "nonce": nonce},
        status,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/signin",
    )
    return response


@router.get("/signin")
def signin_page(request: Request, next: str | None = None) -> Response:
    return signin_form(request, next_url=next)


@router.post("/signin")
def signin(
    request: Request,
    nonce: Annotated[str, Form()] = "",
    key: Annotated[str, Form(max_length=512)] = "",
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce, expected):
        raise PermissionDeniedError("the sign-in form expired: reload the page and try again")
    sessions = sessions_of(request)
    try:
        if key.strip():
            token, _ = sessions.start_with_key(key.strip())
        elif username.strip() and password:
            user_id = state_of(request).accounts.check_password(username.strip(), password)
            token, _ = sessions.start_for_user(user_id)
        else:
            raise AuthenticationError("enter an API key, or a user name and password")
    except AuthenticationError as exc:
        return signin_form(request, status=401, error=exc.message, next_url=next)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
def signout(request: Request, viewer: Writer) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        sessions_of(request).end(token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response

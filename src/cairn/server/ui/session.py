"""Who is browsing: a session cookie (:mod:`cairn.core.sessions`), or an API key.

A browser signs in once and sends the ``cairn_session`` cookie (HttpOnly, SameSite=Lax,
Secure on https). Scripts and tests may send ``Authorization: Bearer <key>`` instead, exactly
as to the API. Every write through the UI (a non-GET request) must carry the session's CSRF
token, in the ``csrf`` form field or the ``X-CSRF-Token`` header (``static/js/cairn.js`` adds
it to htmx requests); a request authenticated by its header carries no ambient credential, so
it needs none.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from cairn.core.access import Principal
from cairn.core.service import Service
from cairn.core.sessions import Sessions
from cairn.errors import AuthenticationError, PermissionDeniedError
from cairn.server.state import state_of

COOKIE = "cairn_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Viewer:
    """The signed-in caller of a page, and the token its forms must send back."""

    principal: Principal
    csrf: str  # "" when signed in by a header (or on an open local server): no cookie to abuse
    via: str  # "session", "key" or "local"

    @property
    def name(self) -> str:
        return self.principal.name


def sessions_of(request: Request) -> Sessions:
    return Sessions(state_of(request).db)


def current_viewer(request: Request) -> Viewer:
    """Raises AuthenticationError (the page then shows the sign-in form)."""
    state = state_of(request)
    if state.config.insecure_local:
        viewer = Viewer(Principal(name=state.config.local_user, is_superuser=True), "", "local")
    else:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and key.strip():
            viewer = Viewer(state.accounts.principal_for_key(key.strip()), "", "key")
        elif scheme:
            raise AuthenticationError("send 'Authorization: Bearer <key>' or sign in")
        else:
            token = request.cookies.get(COOKIE)
            if not token:
                raise AuthenticationError("")
            signed = sessions_of(request).check(token)
            viewer = Viewer(signed.principal, signed.csrf, "session")
    request.state.ui_viewer = viewer
    return viewer


async def checked_writer(request: Request) -> Viewer:
    """The viewer of a write: with a session, the request must carry its CSRF token.

    Raises:
        PermissionDeniedError: a missing or wrong token (a page from another site, or an old
            page from before the session was renewed).
    """
    viewer = current_viewer(request)
    if viewer.via == "session":
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            form = await request.form()
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        if not sent or not hmac.compare_digest(sent, viewer.csrf):
            raise PermissionDeniedError(
                "this form's security token is missing or out of date: reload the page and "
                "try again"
            )
    elif viewer.via == "local" and request.headers.get("sec-fetch-site") == "cross-site":
        raise PermissionDeniedError("a write from another site is refused")
    return viewer


Reader = Annotated[Viewer, Depends(current_viewer)]
Writer = Annotated[Viewer, Depends(checked_writer)]


def service_for(request: Request, viewer: Viewer) -> Service:
    return state_of(request).service.bind(viewer.principal)

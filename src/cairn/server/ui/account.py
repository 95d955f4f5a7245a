"""The signed-in user's API keys: list, create (shown once), revoke their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cairn.server.state import state_of
from cairn.server.ui.render import PageRoute, page
from cairn.server.ui.session import Reader, Writer

router = APIRouter(route_class=PageRoute)


def _keys_page(request: Request, viewer: object, name: str, new_key: str | None) -> Response:
    keys = state_of(request).accounts.list_keys(name)
    return page(request, "keys.html", {"viewer": viewer, "keys": keys, "new_key": new_key})


@router.get("/account/keys")
def keys(request: Request, viewer: Reader) -> Response:
    return _keys_page(request, viewer, viewer.name, None)


@router.post("/account/keys")
def create_key(
    request: Request, viewer: Writer, label: Annotated[str, Form(max_length=128)] = ""
) -> Response:
    """Make a key for the signed-in user and show it, this once."""
    _, key = state_of(request).accounts.create_key(viewer.name, label=label.strip() or None)
    response = _keys_page(request, viewer, viewer.name, key)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/keys/revoke")
def revoke_key(
    request: Request, viewer: Writer, key_id: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    """Revoke one of the signed-in user's own keys (another's is "no such key")."""
    state_of(request).accounts.revoke_key(key_id.strip(), user=viewer.name)
    return RedirectResponse("/account/keys", status_code=303)

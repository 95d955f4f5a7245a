"""Who is calling: ``Authorization: Bearer <API key>`` → Principal → a per-request Service.

The same keys also come as HTTP Basic ``api:<key>``: how the W&B client signs in.

Routes take :data:`Caller` (the core service bound to the caller) or :data:`Who` (just the
principal). Without a valid key every route but the health checks answers 401.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cairn.core.access import Principal
from cairn.core.service import Service
from cairn.errors import AuthenticationError, PermissionDeniedError
from cairn.server.state import ServerState, state_of

# Declares the scheme in OpenAPI (so /docs can authorise) on every route that needs a key;
# the check and its message stay ours (auto_error=False).
bearer = HTTPBearer(
    scheme_name="APIKey",
    description="A Cairn API key: `cairn user create` or `cairn key create` prints one.",
    auto_error=False,
)


def basic_key(request: Request) -> str:
    """The key of ``Authorization: Basic base64(<user>:<key>)``, or "" (another scheme)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        pair = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return pair.partition(":")[2].strip()


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    state = state_of(request)
    if state.config.insecure_local:
        return Principal(name=state.config.local_user, is_superuser=True)
    key = credentials.credentials.strip() if credentials is not None else basic_key(request)
    if not key:
        raise AuthenticationError(
            "this server needs an API key: send 'Authorization: Bearer <key>' "
            "(set CAIRN_API_KEY or run cairn login)"
        )
    return state.accounts.principal_for_key(key)


Who = Annotated[Principal, Depends(current_principal)]
State = Annotated[ServerState, Depends(state_of)]


def bound_service(request: Request, who: Who) -> Service:
    return state_of(request).service.bind(who)


Caller = Annotated[Service, Depends(bound_service)]


def require_superuser(who: Who) -> Principal:
    if not who.is_superuser:
        raise PermissionDeniedError("only a server admin may do this")
    return who


Admin = Annotated[Principal, Depends(require_superuser)]

"""Who is calling: ``Authorization: Bearer <API key>`` → Principal → a per-request Service.

Routes take :data:`Caller` (the core service bound to the caller) or :data:`Who` (just the
principal). Without a valid key every route but the health checks answers 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cairn.core.access import Principal
from cairn.core.service import Service
from cairn.errors import AuthenticationError, PermissionDeniedError
from cairn.server.state import ServerState, state_of


def current_principal(request: Request) -> Principal:
    state = state_of(request)
    if state.config.insecure_local:
        return Principal(name=state.config.local_user, is_superuser=True)
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
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

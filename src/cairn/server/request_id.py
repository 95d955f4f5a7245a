"""Every response carries an ``X-Request-Id``: the client's own, if it sent a sane one, or new.

The id ties what a user sees (the client prints it in its errors) to the server's log: every
server error is logged with it, and a 500's body carries it in ``details``.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.wire import REQUEST_ID_HEADER

HEADER = REQUEST_ID_HEADER
SCOPE_KEY = "cairn.request_id"
# What a proxy or client may hand us to reuse: short, printable, nothing a log could misread.
_SANE = re.compile(r"[A-Za-z0-9._:+=@/-]{1,128}")
# The id of the request this task serves, for log records (server/logs.py); "-" outside one.
current: ContextVar[str] = ContextVar("cairn_request_id", default="-")


def request_id_of(scope: Scope) -> str:
    """The id of the request whose ASGI scope this is ("-" outside the middleware)."""
    return str(scope.get(SCOPE_KEY, "-"))


def choose_id(incoming: bytes | None) -> str:
    """The incoming id if it is sane, else a new random one."""
    if incoming is not None:
        text = incoming.decode("latin-1")
        if _SANE.fullmatch(text):
            return text
    return uuid.uuid4().hex


class RequestId:
    """ASGI middleware: picks the request's id and sets it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = choose_id(dict(scope["headers"]).get(HEADER.lower().encode()))
        # Set on the scope itself, which the error handlers outside this middleware share.
        scope[SCOPE_KEY] = rid
        token = current.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current.reset(token)

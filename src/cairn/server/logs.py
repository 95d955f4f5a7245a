"""The server's logs: plain text for a terminal, or one JSON object per line for a collector.

Every record carries the id of the request it was written for (``request_id``, the same id the
client sees in ``X-Request-Id`` and in its error messages), and each answered request writes one
access record (method, route, path, status, duration, bytes) on the ``cairn.server.access``
logger, in place of uvicorn's access log, which knows neither the id nor the duration.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.server import request_id
from cairn.server.route_template import route_template

Format = Literal["text", "json"]
FORMATS: tuple[Format, ...] = ("text", "json")
ACCESS = logging.getLogger("cairn.server.access")
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# What every LogRecord has; anything else on a record was passed in `extra=` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record that has none (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.current.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def uvicorn_log_config(fmt: Format, level: str) -> dict[str, Any]:
    """A ``logging.config`` dict for uvicorn and Cairn's loggers, in the chosen format."""
    formatter: dict[str, Any] = {"()": JsonFormatter} if fmt == "json" else {"format": TEXT}
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "cairn",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    logger = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"cairn": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "cairn": logger,
            "uvicorn": logger,
            "uvicorn.error": {"level": level.upper()},
            # Replaced by AccessLog, which knows the request id and the duration.
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


class AccessLog:
    """ASGI middleware: one ``cairn.server.access`` record per answered HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not ACCESS.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        seen: dict[str, int] = {"status": 500, "bytes": 0}

        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            route = route_template(scope)
            ms = round((time.perf_counter() - start) * 1000, 1)
            ACCESS.info(
                "%s %s %d %.1f ms",
                scope["method"],
                scope["path"],
                seen["status"],
                ms,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": seen["status"],
                    "duration_ms": ms,
                    "bytes_out": seen["bytes"],
                },
            )

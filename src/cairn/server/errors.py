"""One error body for every failure: ``{"error": {"code", "message", "details"}}``.

Cairn's own exceptions carry their ``code`` and HTTP status; FastAPI's validation errors,
Starlette's 404/405/413 and unexpected exceptions are given codes here, so a client never has
to parse another shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from cairn.errors import CairnError
from cairn.server.request_id import HEADER, request_id_of
from cairn.server.schemas import ErrorOut

log = logging.getLogger("cairn.server")

# Codes for statuses Starlette raises itself. 404 and 413 reuse Cairn's codes so the client
# maps them to NotFoundError and ValidationError.
STATUS_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    500: "server_error",
    501: "not_implemented",
    502: "storage",
    503: "not_ready",
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(jsonable_encoder(body), status_code=status)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring that these statuses come with the one error body."""
    return {
        status: {"model": ErrorOut, "description": f"error ({STATUS_CODES.get(status, 'error')})"}
        for status in statuses
    }


def document_errors(doc: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI ``doc`` completed with what FastAPI leaves out of it.

    * FastAPI files a route's extra responses under the route's own media type, so the errors
      of a route that streams a pack would claim to be packs; they are the JSON ``ErrorOut``;
    * FastAPI itself answers 400 to a JSON body it cannot parse as its content type says.
    """
    error_out = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            for status, response in answers.items():
                content = response.get("content")
                if status[:1] in "45" and content and "application/json" not in content:
                    response["content"] = {"application/json": next(iter(content.values()))}
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                answers.setdefault(
                    "400", {"description": "error (invalid: unparsable body)", "content": error_out}
                )
    return doc


async def _cairn_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CairnError)
    if exc.http_status >= 500 and exc.http_status != 501:  # 501: a feature this server lacks
        log.error(
            "%s in %s %s [request %s]: %s",
            exc.code,
            request.method,
            request.url.path,
            request_id_of(request.scope),
            exc.message,
            extra={"request_id": request_id_of(request.scope)},
        )
    return error_response(exc.http_status, exc.code, exc.message, exc.details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = STATUS_CODES.get(exc.status_code, "server_error" if exc.status_code >= 500 else "error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route"
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return error_response(
        422, "invalid", f"invalid request: {where}: {first['msg']}", {"errors": problems}
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = request_id_of(request.scope)
    log.exception(
        "unhandled error in %s %s [request %s]",
        request.method,
        request.url.path,
        rid,
        exc_info=exc,
        # This handler runs outside the middleware that sets the id for log records.
        extra={"request_id": rid},
    )
    response = error_response(
        500, "server_error", f"internal server error (request {rid})", {"request_id": rid}
    )
    # This handler answers from outside the middleware that stamps every other response.
    response.headers[HEADER] = rid
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(CairnError, _cairn_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

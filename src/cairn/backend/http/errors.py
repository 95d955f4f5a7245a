"""The one place where an error answer becomes :mod:`cairn.errors`: a Cairn server's error
body (its ``code``), or a presigned store URL's own XML dialect."""

from __future__ import annotations

import re

import httpx

from cairn.errors import (
    AuthenticationError,
    BlobNotFoundError,
    CairnError,
    ConflictError,
    DigestMismatchError,
    NotFoundError,
    NotImplementedFeatureError,
    PermissionDeniedError,
    ServerError,
    StorageError,
    ValidationError,
    error_for_code,
    make_error,
)
from cairn.wire import REQUEST_ID_HEADER

_XML_FIELD = re.compile(r"<(Code|Message)>([^<]*)</\1>")

# When an error body carries a code this client does not know, its HTTP status decides.
_BY_STATUS: dict[int, type[CairnError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    501: NotImplementedFeatureError,
}


def error_from(response: httpx.Response, *, direct: bool) -> CairnError:
    """The exception an error response stands for; a server's request id is in its message
    and details, so a user's report can be found in the server's log."""
    error = _error_for(response, direct=direct)
    request_id = response.headers.get(REQUEST_ID_HEADER)
    if request_id and not direct:
        error.message = f"{error.message} (request id {request_id})"
        error.details = {**error.details, "request_id": request_id}
    return error


def _error_for(response: httpx.Response, *, direct: bool) -> CairnError:
    status = response.status_code
    if direct:
        # A presigned store URL answers in the store's own (XML) dialect: its code and message
        # are kept, the markup is not.
        code, said = _store_error(response.text)
        if code in ("BadDigest", "InvalidDigest"):
            return DigestMismatchError(
                f"the bytes sent do not hash to the digest they were added with (did the file "
                f"change after it was added?); the store refused them: {said}",
                details={"code": code},
            )
        if status == 404:
            return BlobNotFoundError(
                f"the blob store has no such object ({said})", details={"code": code}
            )
        return StorageError(f"the blob store answered {status} ({said})", details={"code": code})
    try:
        body = response.json()
        err = body["error"]
        code, message = str(err["code"]), str(err["message"])
        details = err.get("details") or {}
    except (ValueError, KeyError, TypeError):
        cls = _BY_STATUS.get(status, ServerError if status >= 500 else CairnError)
        return make_error(cls.code, f"server answered {status}: {response.text[:500]}")
    if error_for_code(code) is CairnError:
        cls = _BY_STATUS.get(status, ServerError if status >= 500 else CairnError)
        return make_error(cls.code, message, {**details, "code": code})
    return make_error(code, message, details)


def _store_error(text: str) -> tuple[str, str]:
    """An S3-style XML error body as (code, a plain sentence)."""
    fields = dict(_XML_FIELD.findall(text[:4000]))
    code = fields.get("Code", "")
    message = fields.get("Message", "").strip()
    if code or message:
        return code, f"{code}: {message}" if code and message else code or message
    plain = " ".join(re.sub(r"<[^>]*>", " ", text[:500]).split())
    return "", plain or "no details"

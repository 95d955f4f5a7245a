"""GraphQL errors the way the W&B client reads them, with Cairn's codes.

Every error is an entry of ``errors`` with ``extensions.code``: a :class:`~cairn.errors.CairnError`
keeps its own code and message; a document that asks for something this server's schema does not
have says so in words (code ``unsupported``); anything unexpected is logged and answered as
``server_error`` without its details. No failure of one field becomes an HTTP 500.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from cairn.errors import CairnError

log = logging.getLogger("cairn.server.graphql")

UNSUPPORTED = "unsupported"
_UNSUPPORTED_STARTS = ("Cannot query field", "Unknown argument", "Unknown type")
HINT = (
    " This Cairn server supports the part of W&B's GraphQL API that the wandb client's "
    "artifact and run operations use; this request asks for something outside it."
)


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if isinstance(original, CairnError):
        out["message"] = original.message
        out["extensions"] = {"code": original.code, "details": original.details}
    elif original is not None:
        log.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        out["message"] = "internal server error"
        out["extensions"] = {"code": "server_error"}
    elif error.message.startswith(_UNSUPPORTED_STARTS):
        out["message"] = error.message + HINT
        out["extensions"] = {"code": UNSUPPORTED}
    else:
        out["extensions"] = {"code": "invalid"}
    return out

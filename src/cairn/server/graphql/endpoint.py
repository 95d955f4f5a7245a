"""``POST /graphql``: the one HTTP route of the GraphQL face.

The caller signs in as for REST (``Authorization: Basic api:<key>`` from the W&B client, or
``Bearer``); a bad key is a 401 before any GraphQL runs. The body is
``{"query", "variables", "operationName"}``; the answer is ``{"data", "errors"}`` with status
200 for any document (errors included), 422 when the body is not a GraphQL request at all.
"""

from __future__ import annotations

import json
from typing import Any

from ariadne import graphql_sync
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from graphql import GraphQLSchema

from cairn.errors import ValidationError
from cairn.server.auth import State, Who
from cairn.server.graphql import build_schema
from cairn.server.graphql.context import Context
from cairn.server.graphql.errors import format_error

router = APIRouter(tags=["graphql"])
_schema: list[GraphQLSchema] = []


def schema() -> GraphQLSchema:
    """Built on first use and kept: the SDL and bindings never change while serving."""
    if not _schema:
        _schema.append(build_schema())
    return _schema[0]


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"


@router.post("/graphql")
def graphql(body: dict[str, Any], request: Request, state: State, who: Who) -> JSONResponse:
    """Run one GraphQL document (W&B's schema subset) as the caller."""
    if not isinstance(body.get("query"), str):
        raise ValidationError('a GraphQL request is {"query": "...", "variables": {...}}')
    if not body.get("operationName"):  # wandb-core sends "" for "the only operation"
        body = {**body, "operationName": None}
    context = Context(state=state, principal=who, base_url=_base_url(request))
    _ok, result = graphql_sync(
        schema(), body, context_value=context, error_formatter=format_error, debug=False
    )
    # 200 even for a document that failed validation: the errors say why, in words, and the
    # client shows them instead of retrying as it would after a 4xx/5xx.
    return JSONResponse(json.loads(json.dumps(result, default=str)))

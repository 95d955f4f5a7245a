"""What the W&B client sends about a run, at its own paths (outside ``/api/v1``):

* ``POST /files/{entity}/{project}/{run}/file_stream``: history lines, the summary, console
  output and system metrics; ``complete`` with ``exitcode`` finishes the run. Parsed here,
  stored by :mod:`cairn.core.run_stream` on the run Cairn's own SDK writes.
* ``PUT /files/signed/{grant}``: a run file (``config.yaml``, ``output.log``, …) at the URL
  ``CreateRunFiles`` handed out. The client sends no key there: the grant
  (:mod:`cairn.core.signed_urls`, made in :mod:`cairn.server.graphql.runs`) names the run, the
  file and the account whose rights the upload has. Stored by :mod:`cairn.core.run_files`.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from cairn.core import run_files, run_stream
from cairn.core.access import Principal
from cairn.core.signed_urls import PUT
from cairn.errors import PayloadTooLargeError, PermissionDeniedError
from cairn.server import transfer_urls
from cairn.server.auth import Caller, State
from cairn.server.media import OCTETS, binary_body
from cairn.server.state import ServerState

router = APIRouter(tags=["wandb"])


@router.post("/files/{entity}/{project}/{run_id}/file_stream")
def file_stream(
    entity: str,
    project: str,
    run_id: str,
    body: Annotated[dict[str, Any], Body()],
    svc: Caller,
) -> dict[str, Any]:
    """History lines, the summary, console output and system metrics of a running W&B run;
    ``complete`` with ``exitcode`` finishes it. A resent request stores nothing twice."""
    request = run_stream.parse_body(body)
    result = run_stream.apply(svc, entity, project, run_id, request)
    # The client reads nothing it needs from the answer; W&B's carries these two fields.
    return {"exitcode": None, "limits": {}, "stored": result.stored_rows, "state": result.state}


def _grantee(state: ServerState, account: str) -> Principal:
    if state.config.insecure_local:
        return Principal(name=state.config.local_user, is_superuser=True)
    return state.accounts.principal_for_user(account)


@router.put("/files/signed/{token}", openapi_extra=binary_body(OCTETS))
async def put_run_file(token: str, request: Request, state: State) -> Response:
    """Store a run file at a URL ``CreateRunFiles`` handed out (no key: the URL is the grant)."""
    grant = transfer_urls.signer(state).verify(token, PUT)
    name = grant.extra.get(run_files.GRANT_FIELD)
    parts = grant.target.split("/")
    if not isinstance(name, str) or len(parts) != 3:
        raise PermissionDeniedError("this signed URL is not for a run file")
    who = await anyio.to_thread.run_sync(_grantee, state, grant.account)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > run_files.MAX_BYTES:
            raise PayloadTooLargeError(f"a run file is at most {run_files.MAX_BYTES} bytes")
    entity, project, run_id = parts
    info = await anyio.to_thread.run_sync(
        run_files.save, state.service.bind(who), entity, project, run_id, name, io.BytesIO(data)
    )
    return Response(status_code=200, headers={"ETag": f'"{info.md5}"'})

"""The core's direct transfers (:mod:`cairn.core.transfer.direct`) for one request's caller.

Presigned uploads — single PUTs, resumable multipart uploads and their bookkeeping — are the
core's; the routes in :mod:`cairn.server.routes.presigned` only parse and render.
"""

from __future__ import annotations

from cairn.core.access import Principal
from cairn.core.transfer.direct import DirectTransfers
from cairn.server.state import ServerState


def direct(state: ServerState, who: Principal) -> DirectTransfers:
    """Direct transfers for ``who``.

    Raises:
        NotImplementedFeatureError: the store cannot presign, or the server turned it off.
    """
    return DirectTransfers(
        state.service.bind(who), enabled=state.config.presign, expires=state.config.presign_expires
    )

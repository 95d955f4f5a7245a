"""What every resolver is given: the server's state and the caller, from one HTTP request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo

from cairn.core.access import Principal
from cairn.core.service import Service
from cairn.server.state import ServerState


@dataclass(frozen=True)
class Context:
    state: ServerState
    principal: Principal
    base_url: str  # scheme://host[:port] as the client reached us, for URLs we hand out

    @property
    def service(self) -> Service:
        """The core service acting for the caller (its permission checks apply)."""
        return self.state.service.bind(self.principal)


def context_of(info: GraphQLResolveInfo) -> Context:
    ctx: Any = info.context
    assert isinstance(ctx, Context)
    return ctx

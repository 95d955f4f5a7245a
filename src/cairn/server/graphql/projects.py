"""``project(name, entityName)``: a Project node other modules add fields to.

The node is only names (entity defaults to the caller's own); every field under it asks the
core, which checks that the caller may read the project.
"""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLResolveInfo

from cairn.core import permissions, registries
from cairn.core.access import WRITE
from cairn.server.graphql import ids
from cairn.server.graphql.context import context_of
from cairn.server.graphql.viewer import entity_node

query = QueryType()
project = ObjectType("Project")


def project_node(entity: str, name: str) -> dict[str, Any]:
    """A Project as resolvers return it: ``{"id", "internalId", "name", "entityName"}``."""
    name = registries.canonical_project(name)
    pid = ids.encode("Project", f"{entity}/{name}")
    return {"id": pid, "internalId": pid, "name": name, "entityName": entity}


@query.field("project")
def resolve_project(
    _obj: Any, info: GraphQLResolveInfo, name: str | None = None, entityName: str | None = None
) -> dict[str, Any] | None:
    if name is None:
        return None
    return project_node(entityName or context_of(info).principal.name, name)


@project.field("entity")
def resolve_project_entity(obj: dict[str, Any], info: GraphQLResolveInfo) -> dict[str, Any]:
    name = obj["entityName"]
    return entity_node(name, team=name != context_of(info).principal.name)


@project.field("readOnly")
def resolve_read_only(obj: dict[str, Any], info: GraphQLResolveInfo) -> bool:
    """``IsProjectReadOnly``: whether the caller may not log into it (the core's rule; writing
    depends on the caller's role in the entity, not on the project's visibility)."""
    who = context_of(info).principal
    return not permissions.allowed_in(who, obj["entityName"], "private", WRITE)


BINDABLES = [query, project]

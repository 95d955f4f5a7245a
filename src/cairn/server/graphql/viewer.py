"""Who is calling and what this server offers: ``Viewer``, ``GetDefaultEntity``,
``ServerFeaturesQuery``, ``FetchOrgInfoFromEntity``."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLResolveInfo

from cairn.server.graphql import ids
from cairn.server.graphql.context import context_of

# Features the client gates behaviour on; each one named here is implemented by this schema.
# ARTIFACT_TAGS: the client sends and reads tags only when this is on.
FEATURES = ("ARTIFACT_TAGS",)

query = QueryType()
user = ObjectType("User")
entity = ObjectType("Entity")


def entity_node(name: str, *, team: bool) -> dict[str, Any]:
    """An Entity as resolvers return it (a user's own entity, or a team)."""
    return {"id": ids.encode("Entity", name), "name": name, "isTeam": team}


@query.field("viewer")
def resolve_viewer(_obj: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    who = context_of(info).principal
    teams = [e for e in who.roles if e != who.name]
    return {
        "id": ids.encode("User", who.name),
        "name": who.name,
        "username": who.name,
        "email": None,
        "entity": who.name,  # a user's default entity is their own (as in Cairn's SDK)
        "admin": who.is_superuser,
        "flags": "{}",
        "teams": {"edges": [{"node": entity_node(t, team=True)} for t in sorted(teams)]},
        "organizations": [],
        "deletedAt": None,
        "apiKeys": {"edges": []},
    }


@user.field("teams")
def resolve_teams(obj: dict[str, Any], _info: GraphQLResolveInfo, first: int | None = None) -> Any:
    return obj["teams"]


@query.field("serverInfo")
def resolve_server_info(_obj: Any, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {
        "features": [{"name": f, "isEnabled": True} for f in FEATURES],
        "cliVersionInfo": None,
        "latestLocalVersionInfo": None,
    }


@query.field("entity")
def resolve_entity(_obj: Any, info: GraphQLResolveInfo, name: str | None = None) -> Any:
    who = context_of(info).principal
    if name is None:
        name = who.name
    return entity_node(name, team=name != who.name)


@entity.field("organization")
def resolve_organization(obj: dict[str, Any], _info: GraphQLResolveInfo) -> dict[str, Any]:
    # Cairn has no organisations above entities: each entity is its own, so a registry path
    # (``wandb-registry-NAME``) stays in the entity that was named.
    name = obj["name"]
    return {
        "id": ids.encode("Organization", name),
        "name": name,
        "orgEntity": entity_node(name, team=obj["isTeam"]),
    }


@entity.field("user")
def resolve_entity_user(_obj: dict[str, Any], _info: GraphQLResolveInfo) -> None:
    return None


BINDABLES = [query, user, entity]
__all__ = ["BINDABLES", "FEATURES", "entity_node"]

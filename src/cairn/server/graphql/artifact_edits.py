"""Changing committed artifacts: use (lineage), aliases, description/metadata/tags/TTL,
delete, link to and unlink from portfolios. Each is the core call REST makes for the same
change, as the caller."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType
from graphql import GraphQLResolveInfo

from cairn.errors import ArtifactNotFoundError, NotFoundError
from cairn.records import VersionRecord, VersionUpdate
from cairn.server.graphql import drafts, ids
from cairn.server.graphql.artifact_nodes import PORTFOLIO_TYPE, artifact_node, membership_node
from cairn.server.graphql.context import Context, context_of

mutation = MutationType()


def _record(ctx: Context, artifact_id: str) -> VersionRecord:
    return ctx.service.get_version(drafts.version_of(artifact_id))


@mutation.field("useArtifact")
def resolve_use_artifact(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    version_id = drafts.version_of(input["artifactID"])
    ctx.service.use_version(
        input["entityName"],
        input["projectName"],
        input["runName"],
        version_id,
        use_as=input.get("usedAs"),
    )
    return {"artifact": artifact_node(ctx.service.get_version(version_id))}


def _custom(aliases: tuple[str, ...]) -> list[str]:
    return [a for a in aliases if a != "latest"]


def _change_aliases(ctx: Context, data: dict[str, Any], *, add: bool) -> dict[str, Any]:
    """Add or remove aliases, each in the collection it names: the version's own sequence,
    or a portfolio it is linked into."""
    version = _record(ctx, data["artifactID"])
    wanted: dict[tuple[str, str, str], list[str]] = {}
    for a in data["aliases"]:
        key = (a["entityName"], a["projectName"], a["artifactCollectionName"])
        wanted.setdefault(key, []).append(a["alias"])
    links = None
    for (entity, project, collection), names in wanted.items():
        if (entity, project, collection) == (version.entity, version.project, version.collection):
            target, link_id = version, None
        else:
            links = links if links is not None else ctx.service.version_links(version.id)
            match = [
                v
                for v in links
                if (v.entity, v.project, v.collection) == (entity, project, collection)
            ]
            if not match:
                raise ArtifactNotFoundError(
                    f"this artifact is not in {entity}/{project}/{collection}"
                )
            target, link_id = match[0], match[0].link_id
        current = _custom(target.aliases)
        if add:
            new = current + [n for n in names if n not in current]
        else:
            new = [a for a in current if a not in names]
        if link_id is None:
            ctx.service.update_version(version.id, VersionUpdate(aliases=tuple(new)))
        else:
            ctx.service.set_link_aliases(link_id, new)
    return {"success": True}


@mutation.field("addAliases")
def resolve_add_aliases(_obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
    return _change_aliases(context_of(info), input, add=True)


@mutation.field("deleteAliases")
def resolve_delete_aliases(_obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> Any:
    return _change_aliases(context_of(info), input, add=False)


@mutation.field("updateArtifact")
def resolve_update_artifact(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    version = _record(ctx, input["artifactID"])
    tags = None
    adding = [t["tagName"] for t in input.get("tagsToAdd") or []]
    removing = {t["tagName"] for t in input.get("tagsToDelete") or []}
    if adding or removing:
        kept = [t for t in version.tags if t not in removing]
        tags = tuple(kept + [t for t in adding if t not in kept])
    aliases = None
    if input.get("aliases") is not None:
        aliases = tuple(
            a["alias"]
            for a in input["aliases"]
            if a.get("artifactCollectionName") in (None, version.collection)
        )
    ttl = input.get("ttlDurationSeconds")
    change = VersionUpdate(
        description=input.get("description") or None,
        clear_description="description" in input and not input["description"],
        metadata=input.get("metadata"),
        aliases=aliases,
        tags=tags,
        ttl_seconds=int(ttl) if ttl is not None else None,
    )
    return {"artifact": artifact_node(ctx.service.update_version(version.id, change))}


@mutation.field("deleteArtifact")
def resolve_delete_artifact(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    version = _record(ctx, input["artifactID"])
    ctx.service.delete_version(version.id, delete_aliases=bool(input.get("deleteAliases")))
    return {"artifact": artifact_node(version)}


@mutation.field("linkArtifact")
def resolve_link_artifact(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    if not input.get("artifactID"):
        raise NotFoundError("link by client ID is not supported: send the artifact's ID")
    portfolio = input.get("artifactPortfolioName")
    if not portfolio:
        entity, project, portfolio = ids.decode(PORTFOLIO_TYPE, input["artifactPortfolioID"]).split(
            "/", 2
        )
    else:
        entity, project = input["entityName"], input["projectName"]
    aliases = [
        a["alias"]
        for a in input.get("aliases") or []
        if a.get("artifactCollectionName") in (None, portfolio)
    ]
    record = ctx.service.link_version(
        drafts.version_of(input["artifactID"]), entity, project, portfolio, aliases
    )
    node = membership_node(record)
    return {
        "versionIndex": record.index,
        "artifactMembership": node,
        "artifactCollectionMember": node["artifact"],
    }


@mutation.field("unlinkArtifact")
def resolve_unlink_artifact(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    version_id = drafts.version_of(input["artifactID"])
    entity, project, name = ids.decode(PORTFOLIO_TYPE, input["artifactPortfolioID"]).split("/", 2)
    links = ctx.service.version_links(version_id)
    match = [v for v in links if (v.entity, v.project, v.collection) == (entity, project, name)]
    if not match or match[0].link_id is None:
        raise ArtifactNotFoundError(f"this artifact is not linked into {entity}/{project}/{name}")
    ctx.service.unlink_version(match[0].link_id)
    return {"artifactID": input["artifactID"], "success": True}


BINDABLES = [mutation]

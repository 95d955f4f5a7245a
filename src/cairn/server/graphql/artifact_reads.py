"""Reading artifacts: by ID, by ``name:alias`` in a project, their collections, types,
memberships, files (with download URLs), manifest, creator and users.

Every lookup is one core call as the caller; something the caller may not read answers
``null``, as W&B does for something that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ariadne import InterfaceType, ObjectType, QueryType, UnionType
from graphql import GraphQLResolveInfo

from cairn.errors import NotFoundError, ValidationError
from cairn.records import VersionRecord
from cairn.server import transfer_urls
from cairn.server.graphql import drafts, ids
from cairn.server.graphql.artifact_nodes import (
    PORTFOLIO_TYPE,
    SEQUENCE_TYPE,
    alias_node,
    artifact_node,
    collection_node,
    collection_record_node,
    membership_node,
    run_node,
    type_node,
)
from cairn.server.graphql.context import Context, context_of

query = QueryType()
project = ObjectType("Project")
artifact = ObjectType("Artifact")
membership = ObjectType("ArtifactCollectionMembership")
collection = InterfaceType("ArtifactCollection")
sequence = ObjectType("ArtifactSequence")
portfolio = ObjectType("ArtifactPortfolio")
artifact_type = ObjectType("ArtifactType")
creator = UnionType("ArtifactCreator")

T = TypeVar("T")
MAX_PAGE = 10_000


def _or_none(call: Callable[[], T]) -> T | None:
    """W&B answers null for what is missing; Cairn's core raises NotFoundError (the same for
    what the caller may not read)."""
    try:
        return call()
    except NotFoundError:
        return None


def _split_name(name: str) -> tuple[str, str]:
    """``"coll:alias"`` → (coll, alias); no alias means ``latest``."""
    coll, sep, alias = name.partition(":")
    return coll, (alias if sep and alias else "latest")


def _version(obj: dict[str, Any]) -> str:
    return str(obj["_version"])


def page_info(end: str | None, more: bool) -> dict[str, Any]:
    """W&B's ``pageInfo`` of a forward-only page ending at cursor ``end``."""
    return {"endCursor": end, "hasNextPage": more, "hasPreviousPage": False}


def _page(first: int | None, default: int = 50) -> int:
    return max(1, min(int(first or default), MAX_PAGE))


# -- entry points --------------------------------------------------------------------------------
@query.field("artifact")
def resolve_artifact(_obj: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    svc = context_of(info).service
    version_id = drafts.version_of(id)
    found = _or_none(lambda: svc.get_version(version_id))
    return artifact_node(found) if found is not None else None


def _collection_by_names(ctx: Context, entity: str, proj: str, name: str) -> dict[str, Any] | None:
    found = _or_none(lambda: ctx.service.get_collection(entity, proj, name))
    return collection_record_node(found) if found is not None else None


@query.field("artifactCollection")
def resolve_collection_by_id(_obj: Any, info: GraphQLResolveInfo, id: str) -> Any:
    for kind in (SEQUENCE_TYPE, PORTFOLIO_TYPE):
        try:
            key = ids.decode(kind, id)
        except ValidationError:
            continue
        entity, proj, name = key.split("/", 2)
        return _collection_by_names(context_of(info), entity, proj, name)
    raise ValidationError(f"{id!r} is not an ArtifactCollection ID")


@query.field("clientIDMapping")
def resolve_client_id_mapping(_obj: Any, _info: GraphQLResolveInfo, clientID: str) -> None:
    # Client ids are not kept: the client then uses the server ids it was given.
    return None


@project.field("artifact")
def resolve_project_artifact(
    obj: dict[str, Any], info: GraphQLResolveInfo, name: str
) -> dict[str, Any] | None:
    coll, alias = _split_name(name)
    svc = context_of(info).service
    found = _or_none(lambda: svc.resolve(obj["entityName"], obj["name"], coll, alias))
    return artifact_node(found) if found is not None else None


@project.field("artifactCollectionMembership")
def resolve_project_membership(
    obj: dict[str, Any], info: GraphQLResolveInfo, name: str
) -> dict[str, Any] | None:
    coll, alias = _split_name(name)
    svc = context_of(info).service
    found = _or_none(lambda: svc.resolve(obj["entityName"], obj["name"], coll, alias))
    return membership_node(found) if found is not None else None


@project.field("artifactCollection")
def resolve_project_collection(obj: dict[str, Any], info: GraphQLResolveInfo, name: str) -> Any:
    return _collection_by_names(context_of(info), obj["entityName"], obj["name"], name)


def _collections(
    ctx: Context,
    entity: str,
    proj: str,
    type_name: str | None,
    after: str | None,
    first: int | None,
) -> dict[str, Any]:
    limit = _page(first)
    found = _or_none(
        lambda: ctx.service.list_collections(entity, proj, type_name, after=after, limit=limit + 1)
    )
    rows = found or []
    page = rows[:limit]
    return {
        "totalCount": len(page),
        "edges": [{"node": collection_record_node(c), "cursor": c.name} for c in page],
        "pageInfo": page_info(page[-1].name if page else None, len(rows) > limit),
    }


@project.field("artifactCollections")
def resolve_project_collections(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    after: str | None = None,
    first: int | None = None,
    **_filters: Any,
) -> dict[str, Any]:
    return _collections(context_of(info), obj["entityName"], obj["name"], None, after, first)


def _types(ctx: Context, entity: str, proj: str) -> dict[str, dict[str, Any]]:
    """The project's artifact types (those of its collections), each made when its first
    collection was."""
    colls = _or_none(lambda: ctx.service.list_collections(entity, proj)) or []
    out: dict[str, dict[str, Any]] = {}
    for c in sorted(colls, key=lambda c: c.created_at):
        out.setdefault(c.type, type_node(entity, proj, c.type) | {"createdAt": c.created_at})
    return out


@project.field("artifactType")
def resolve_project_type(
    obj: dict[str, Any], info: GraphQLResolveInfo, name: str
) -> dict[str, Any] | None:
    return _types(context_of(info), obj["entityName"], obj["name"]).get(name)


@project.field("artifactTypes")
def resolve_project_types(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    after: str | None = None,
    first: int | None = None,
) -> dict[str, Any]:
    types = _types(context_of(info), obj["entityName"], obj["name"])
    names = sorted(n for n in types if after is None or n > after)
    limit = _page(first)
    page = names[:limit]
    return {
        "edges": [{"node": types[n]} for n in page],
        "pageInfo": page_info(page[-1] if page else None, len(names) > limit),
    }


@artifact_type.field("artifactCollection")
def resolve_type_collection(obj: dict[str, Any], info: GraphQLResolveInfo, name: str) -> Any:
    node = _collection_by_names(context_of(info), obj["_entity"], obj["_project"], name)
    return node if node is not None and node["_type"] == obj["name"] else None


@artifact_type.field("artifactCollections")
@artifact_type.field("artifactSequences")
def resolve_type_collections(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    after: str | None = None,
    first: int | None = None,
    **_filters: Any,
) -> dict[str, Any]:
    return _collections(
        context_of(info), obj["_entity"], obj["_project"], obj["name"], after, first
    )


# -- collections ---------------------------------------------------------------------------------
@collection.type_resolver
def resolve_collection_type(obj: dict[str, Any], *_: Any) -> str:
    return str(obj["__typename"])


def _in_collection(
    obj: dict[str, Any], info: GraphQLResolveInfo, alias: str
) -> VersionRecord | None:
    svc = context_of(info).service
    return _or_none(lambda: svc.resolve(obj["_entity"], obj["_project"], obj["name"], alias))


def _bind_collection_fields(kind: ObjectType) -> None:
    @kind.field("artifactMembership")
    def resolve_membership(obj: dict[str, Any], info: GraphQLResolveInfo, aliasName: str) -> Any:
        found = _in_collection(obj, info, aliasName)
        return membership_node(found) if found is not None else None

    @kind.field("latestArtifact")
    def resolve_latest(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        if "latestArtifact" in obj:
            return obj["latestArtifact"]
        found = _in_collection(obj, info, "latest")
        return artifact_node(found) if found is not None else None

    @kind.field("aliases")
    def resolve_aliases(
        obj: dict[str, Any],
        info: GraphQLResolveInfo,
        after: str | None = None,
        first: int | None = None,
    ) -> dict[str, Any]:
        svc = context_of(info).service
        record = _or_none(lambda: svc.get_collection(obj["_entity"], obj["_project"], obj["name"]))
        names = sorted(record.aliases) if record is not None else []
        if after is not None:
            names = [n for n in names if n > after]
        limit = _page(first, 1000)
        page = names[:limit]
        return {
            "edges": [{"node": alias_node(a, obj)} for a in page],
            "pageInfo": page_info(page[-1] if page else None, len(names) > limit),
        }

    @kind.field("artifacts")
    def resolve_artifacts(
        obj: dict[str, Any],
        info: GraphQLResolveInfo,
        after: str | None = None,
        first: int | None = None,
        **_filters: Any,
    ) -> dict[str, Any]:
        svc = context_of(info).service
        limit = _page(first)
        after_index = int(after) if after else None
        got = _or_none(
            lambda: svc.list_versions(
                obj["_entity"], obj["_project"], obj["name"], after_index=after_index, limit=limit
            )
        )
        rows, nxt = got if got is not None else ([], None)
        return {
            "totalCount": len(rows),
            "edges": [
                {"version": f"v{v.index}", "node": artifact_node(v), "cursor": str(v.index)}
                for v in rows
            ],
            "pageInfo": page_info(str(rows[-1].index) if rows else None, nxt is not None),
        }

    @kind.field("artifactMemberships")
    def resolve_memberships(
        obj: dict[str, Any],
        info: GraphQLResolveInfo,
        after: str | None = None,
        first: int | None = None,
    ) -> dict[str, Any]:
        # A portfolio's versions are its links already: each record is the membership.
        page = resolve_artifacts(obj, info, after=after, first=first)
        nodes = [{"node": membership_node(edge["node"]["_record"])} for edge in page["edges"]]
        return {"edges": nodes, "pageInfo": page["pageInfo"]}


_bind_collection_fields(sequence)
_bind_collection_fields(portfolio)


# -- versions ------------------------------------------------------------------------------------
@artifact.field("aliases")
def resolve_artifact_aliases(obj: dict[str, Any], info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """Its aliases in its own sequence, then those of every portfolio it is linked into."""
    out = list(obj.get("_sequence_aliases", []))
    links = _or_none(lambda: context_of(info).service.version_links(_version(obj))) or []
    for link in links:
        coll = collection_node(
            link.entity, link.project, link.collection, link.type, portfolio=True
        )
        out.extend(alias_node(a, coll) for a in link.aliases)
    return out


@artifact.field("artifactMemberships")
def resolve_artifact_memberships(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    after: str | None = None,
    first: int | None = None,
) -> dict[str, Any]:
    """Where the version is a member: its own sequence, then each portfolio it is linked into."""
    svc = context_of(info).service
    own = _or_none(lambda: svc.get_version(_version(obj)))
    records = ([own] if own is not None else []) + (
        _or_none(lambda: svc.version_links(_version(obj))) or []
    )
    return {
        "edges": [{"node": membership_node(v)} for v in records],
        "pageInfo": page_info(None, False),
    }


@artifact.field("currentManifest")
def resolve_current_manifest(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    ctx = context_of(info)
    record: VersionRecord = obj["_record"]
    if not record.manifest_digest:
        return None
    url = transfer_urls.downloads(
        ctx.state, ctx.principal, [(record.manifest_digest, "wandb_manifest.json")], ctx.base_url
    )[record.manifest_digest]
    return {
        "id": ids.encode("ArtifactManifest", record.id),
        "file": {
            "id": ids.encode("File", f"{record.id}/wandb_manifest.json"),
            "name": "wandb_manifest.json",
            "displayName": "wandb_manifest.json",
            "directUrl": url,
            "url": url,
            "uploadHeaders": [],
            "sizeBytes": 0,
        },
    }


def _files(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    names: list[str] | None,
    after: str | None,
    first: int | None,
) -> dict[str, Any]:
    ctx = context_of(info)
    version_id = _version(obj)
    rows, cursor = ctx.service.list_files(version_id, names=names, after=after, limit=_page(first))
    stored = [(r["digest"], r["path"]) for r in rows if r["ref"] is None]
    hexes = {d: _hex(d) for d, _ in stored}
    urls = transfer_urls.downloads(
        ctx.state,
        ctx.principal,
        [(hexes[d], p.rsplit("/", 1)[-1]) for d, p in stored],
        ctx.base_url,
    )
    edges = []
    for r in rows:
        url = r["ref"] if r["ref"] is not None else urls[hexes[r["digest"]]]
        edges.append(
            {
                "cursor": r["path"],
                "node": {
                    "id": ids.encode("File", f"{version_id}/{r['path']}"),
                    "name": r["path"],
                    "displayName": r["path"],
                    "url": url,
                    "directUrl": url,
                    "uploadHeaders": [],
                    "storagePath": hexes.get(r["digest"]),
                    "sizeBytes": r["size"] or 0,
                    "mimetype": None,
                    "updatedAt": None,
                    "digest": r["digest"],
                    "md5": r["digest"],
                },
            }
        )
    return {
        "totalCount": obj["_record"].file_count if "_record" in obj else None,
        "edges": edges,
        "pageInfo": page_info(rows[-1]["path"] if rows else None, cursor is not None),
    }


def _hex(b64_digest: str) -> str:
    from cairn.manifest.digest import b64_to_hex

    return b64_to_hex(b64_digest)


@artifact.field("files")
@membership.field("files")
def resolve_files(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    names: list[str] | None = None,
    after: str | None = None,
    first: int | None = None,
) -> dict[str, Any]:
    return _files(obj, info, names, after, first)


@artifact.field("createdBy")
def resolve_created_by(obj: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    run = _or_none(lambda: context_of(info).service.version_producer(_version(obj)))
    return run_node(run) if run is not None else None


@creator.type_resolver
def resolve_creator_type(obj: dict[str, Any], *_: Any) -> str:
    return "Run"


@artifact.field("usedBy")
def resolve_used_by(
    obj: dict[str, Any],
    info: GraphQLResolveInfo,
    after: str | None = None,
    first: int | None = None,
) -> dict[str, Any]:
    runs = _or_none(lambda: context_of(info).service.version_consumers(_version(obj))) or []
    return {
        "edges": [{"node": run_node(r)} for r in runs],
        "pageInfo": page_info(None, False),
    }


BINDABLES = [
    query,
    project,
    artifact,
    membership,
    collection,
    sequence,
    portfolio,
    artifact_type,
    creator,
]

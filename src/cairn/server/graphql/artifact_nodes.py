"""Cairn's records in W&B's shapes: Artifact, ArtifactSequence/ArtifactPortfolio,
ArtifactCollectionMembership, ArtifactAlias, Tag, Run (as artifacts see it).

Nodes are plain dicts holding every cheap field; fields that cost a query (files, manifest,
creator, users, memberships) are resolved on demand in :mod:`.artifact_reads`, from the
version id the node carries under ``"_version"``.
"""

from __future__ import annotations

import json
from typing import Any

from cairn.core.links import PORTFOLIO
from cairn.records import TTL_INHERIT, CollectionRecord, RunRecord, VersionRecord
from cairn.server.graphql import ids
from cairn.server.graphql.projects import project_node

SEQUENCE_TYPE = "ArtifactSequence"
PORTFOLIO_TYPE = "ArtifactPortfolio"


def run_node(run: RunRecord) -> dict[str, Any]:
    """A Run as artifacts see it; the runs module resolves its other fields by name."""
    return {
        "id": ids.encode("Run", f"{run.entity}/{run.project}/{run.id}"),
        "name": run.id,
        "displayName": run.name,
        "project": project_node(run.entity, run.project),
    }


def collection_node(
    entity: str, project: str, name: str, type_name: str, *, portfolio: bool
) -> dict[str, Any]:
    kind = PORTFOLIO_TYPE if portfolio else SEQUENCE_TYPE
    return {
        "__typename": kind,
        "id": ids.encode(kind, f"{entity}/{project}/{name}"),
        "name": name,
        "project": project_node(entity, project),
        "_entity": entity,
        "_project": project,
        "_type": type_name,
        "defaultArtifactType": type_node(entity, project, type_name),
        "description": None,
        "createdAt": None,
        "updatedAt": None,
        "state": "READY",
        "tags": {"edges": []},
        "digestAlgorithm": "MANIFEST_MD5",
    }


def collection_record_node(c: CollectionRecord) -> dict[str, Any]:
    node = collection_node(c.entity, c.project, c.name, c.type, portfolio=c.kind == PORTFOLIO)
    node.update(
        description=c.description,
        createdAt=c.created_at,
        updatedAt=c.updated_at,
        tags={"edges": [{"node": tag_node(t)} for t in c.tags]},
    )
    return node


def type_node(entity: str, project: str, name: str) -> dict[str, Any]:
    return {
        "id": ids.encode("ArtifactType", f"{entity}/{project}/{name}"),
        "name": name,
        "description": None,
        "createdAt": None,
        "_entity": entity,
        "_project": project,
    }


def tag_node(name: str) -> dict[str, Any]:
    return {
        "id": ids.encode("Tag", name),
        "name": name,
        "tagCategoryName": None,
        "attributes": None,
    }


def alias_node(alias: str, collection: dict[str, Any]) -> dict[str, Any]:
    key = f"{collection['_entity']}/{collection['_project']}/{collection['name']}:{alias}"
    return {
        "id": ids.encode("ArtifactAlias", key),
        "alias": alias,
        "artifactCollectionName": collection["name"],
        "artifactCollection": collection,
    }


def source_collection(v: VersionRecord) -> dict[str, Any]:
    """The sequence a version was logged into (for a link record: its source's)."""
    if v.link_id is not None:
        return collection_node(
            v.source_entity or v.entity,
            v.source_project or v.project,
            v.source_collection or v.collection,
            v.type,
            portfolio=False,
        )
    return collection_node(v.entity, v.project, v.collection, v.type, portfolio=False)


def artifact_node(v: VersionRecord, artifact_id: str | None = None) -> dict[str, Any]:
    """An Artifact: the version itself, whichever collection it was found through."""
    sequence = source_collection(v)
    own_aliases = v.aliases if v.link_id is None else ()
    index = v.source_index if v.link_id is not None else v.index
    return {
        "_version": v.id,
        "_record": v,
        "id": artifact_id or ids.encode("Artifact", v.id),
        "state": v.state,
        "digest": v.digest,
        "digestAlgorithm": "MANIFEST_MD5",
        "commitHash": v.commit_hash,
        "versionIndex": index,
        "description": v.description,
        "metadata": json.dumps(v.metadata or {}),
        "labels": None,
        "size": v.size,
        "fileCount": v.file_count,
        "ttlDurationSeconds": v.ttl_seconds if v.ttl_seconds is not None else TTL_NEVER_WIRE,
        "ttlIsInherited": v.ttl_inherit,
        "historyStep": None,
        "createdAt": v.created_at,
        "updatedAt": v.updated_at,
        "artifactType": type_node(sequence["_entity"], sequence["_project"], v.type),
        "artifactSequence": sequence,
        "_sequence_aliases": [alias_node(a, sequence) for a in own_aliases],
        "tags": [tag_node(t) for t in v.tags],
    }


# W&B's "no TTL" (-2) is Cairn's TTL_NEVER; an inherited TTL is reported as its seconds.
TTL_NEVER_WIRE = -2
assert TTL_INHERIT == -1


def membership_node(v: VersionRecord) -> dict[str, Any]:
    """A version as a member of the collection it was found in (sequence or portfolio)."""
    portfolio = v.link_id is not None
    collection = collection_node(v.entity, v.project, v.collection, v.type, portfolio=portfolio)
    key = f"link:{v.link_id}" if portfolio else f"version:{v.id}"
    return {
        "id": ids.encode("ArtifactCollectionMembership", key),
        "versionIndex": v.index,
        "createdAt": v.linked_at if portfolio and v.linked_at else v.created_at,
        "aliases": [alias_node(a, collection) for a in v.aliases],
        "artifactCollection": collection,
        "artifact": artifact_node(v),
        "_version": v.id,
        "_record": v,
    }

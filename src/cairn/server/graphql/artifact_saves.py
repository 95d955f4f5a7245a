"""Saving an artifact, W&B's way, onto Cairn's commit protocol.

``CreateArtifact`` → the core's ``begin_version`` (a PENDING version; the shared one of a
``distributedID``), answered at once with the latest version when the digest the client
computed is the latest's (``commit_if_unchanged``: nothing is uploaded again);
``CreateArtifactManifest``/``UpdateArtifactManifest`` → where to PUT the manifest (or a
writer's patch), which :func:`.drafts.receive_manifest` merges into the version;
``CreateArtifactFiles`` → for each file, no URL when the caller holds its bytes already
(proof of possession), else where to PUT them; ``CommitArtifact`` → ``commit_version``, with the
aliases and tags asked for at creation.
"""

from __future__ import annotations

from typing import Any

from ariadne import MutationType
from graphql import GraphQLResolveInfo

from cairn.errors import ArtifactNotFoundError, ValidationError
from cairn.manifest.digest import b64_to_hex
from cairn.records import PENDING, TTL_INHERIT, VersionSpec
from cairn.server import transfer_urls
from cairn.server.graphql import drafts, ids
from cairn.server.graphql.artifact_nodes import artifact_node, collection_node
from cairn.server.graphql.context import Context, context_of

mutation = MutationType()
MANIFEST = "ArtifactManifest"


def _collection_name(data: dict[str, Any]) -> str:
    name = data.get("artifactCollectionName")
    names = data.get("artifactCollectionNames") or []
    if not name and names:
        name = names[0]
    if not name:
        raise ValidationError("CreateArtifact needs an artifactCollectionName")
    return str(name)


def _latest(ctx: Context, entity: str, project: str, collection: str) -> dict[str, Any] | None:
    try:
        return artifact_node(ctx.service.resolve(entity, project, collection, "latest"))
    except ArtifactNotFoundError:
        return None


@mutation.field("createArtifact")
def resolve_create_artifact(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    entity, project = input["entityName"], input["projectName"]
    collection = _collection_name(input)
    intent = drafts.Intent(
        aliases=tuple(
            a["alias"]
            for a in input.get("aliases") or []
            if a.get("artifactCollectionName") in (None, collection)
        ),
        tags=tuple(t["tagName"] for t in input.get("tags") or []),
    )
    ttl = input.get("ttlDurationSeconds")
    spec = VersionSpec(
        entity=entity,
        project=project,
        collection=collection,
        type=input["artifactTypeName"],
        description=input.get("description"),
        metadata=input.get("metadata") or {},
        run_id=input.get("runName"),
        distributed_id=input.get("distributedID"),
        ttl_seconds=TTL_INHERIT if ttl is None else int(ttl),
    )
    svc = ctx.service
    version_id = svc.begin_version(spec)
    if spec.distributed_id is None and input.get("digest"):
        same = svc.commit_if_unchanged(
            version_id, input["digest"], aliases=intent.aliases, tags=intent.tags
        )
        if same is not None:  # the latest version has this content: it is the answer
            return {"artifact": artifact_node(same)}
    sequence = collection_node(entity, project, collection, spec.type, portfolio=False)
    sequence["latestArtifact"] = _latest(ctx, entity, project, collection)
    return {
        "artifact": {
            "id": drafts.draft_id(version_id, intent),
            "state": PENDING,
            "artifactSequence": sequence,
        }
    }


def _manifest_payload(
    ctx: Context, version_id: str, digest: str | None, include_upload: bool
) -> dict[str, Any]:
    url = None
    if include_upload and digest:
        url = transfer_urls.manifest_upload(
            ctx.state, ctx.principal, version_id, b64_to_hex(digest), ctx.base_url
        )
    return {
        "artifactManifest": {
            "id": ids.encode(MANIFEST, version_id),
            "file": {
                "id": ids.encode("File", f"{version_id}/wandb_manifest.json"),
                "uploadUrl": url,
                "uploadHeaders": ["Content-Type:application/json"] if url else [],
            },
        }
    }


@mutation.field("createArtifactManifest")
def resolve_create_manifest(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    version_id = drafts.version_of(input["artifactID"])
    # includeUpload is the document's variable for @include, not an input field: a digest
    # ("" before the files are known) is what says an upload follows.
    return _manifest_payload(context_of(info), version_id, input.get("digest"), True)


@mutation.field("updateArtifactManifest")
def resolve_update_manifest(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    version_id = ids.decode(MANIFEST, input["artifactManifestID"])
    # The document asks for uploadUrl only with $includeUpload; a digest means an upload.
    return _manifest_payload(context_of(info), version_id, input.get("digest"), True)


@mutation.field("createArtifactFiles")
def resolve_create_files(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    specs = input["artifactFiles"]
    digests = [b64_to_hex(f["md5"]) for f in specs]
    # Proof of possession: no URL for bytes the caller already holds.
    missing = set(ctx.service.missing_blobs(list(dict.fromkeys(digests))))
    edges = []
    for spec, digest in zip(specs, digests, strict=True):
        url: str | None = None
        headers: list[str] = []
        parts: dict[str, Any] | None = None
        if digest in missing and spec.get("uploadPartsInput"):
            parts = transfer_urls.multipart_upload(
                ctx.state,
                ctx.principal,
                digest,
                [(int(p["partNumber"]), str(p["hexMD5"])) for p in spec["uploadPartsInput"]],
            )
        if parts is not None:
            url = parts["uploadUrlParts"][0]["uploadUrl"]
        elif digest in missing:
            url, headers = transfer_urls.upload(ctx.state, ctx.principal, digest, ctx.base_url)
        version_id = drafts.version_of(spec["artifactID"])
        edges.append(
            {
                "node": {
                    "id": ids.encode("File", f"{version_id}/{spec['name']}"),
                    "name": spec["name"],
                    "displayName": spec["name"],
                    "storagePath": digest,
                    "uploadUrl": url,
                    "uploadHeaders": headers,
                    "uploadMultipartUrls": parts,
                    # Its birthArtifactID in the manifest: the version being made.
                    "artifact": {"id": ids.encode(drafts.ARTIFACT, version_id)},
                }
            }
        )
    return {"files": {"edges": edges, "pageInfo": {"hasNextPage": False}}}


@mutation.field("completeMultipartUploadArtifact")
def resolve_complete_multipart(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    ctx = context_of(info)
    digest, upload = input["storagePath"], input["uploadID"]
    if input["completeMultipartAction"] == "Abort":
        transfer_urls.abort_multipart(ctx.state, ctx.principal, digest, upload)
    else:
        transfer_urls.complete_multipart(ctx.state, ctx.principal, digest, upload)
    return {"digest": digest}


@mutation.field("commitArtifact")
def resolve_commit_artifact(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    version_id, intent = drafts.parse_artifact_id(input["artifactID"])
    record = context_of(info).service.commit_version(
        version_id,
        None,  # the entries the manifest upload merged into the version
        aliases=intent.aliases,
        tags=intent.tags,
        token=f"wandb-commit-{version_id}",  # a retried commit answers with the same version
    )
    return {"artifact": artifact_node(record)}


BINDABLES = [mutation]

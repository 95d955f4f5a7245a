"""Pending artifacts between ``CreateArtifact`` and ``CommitArtifact``.

W&B's client names the aliases and tags of a new version when it creates it, and only its id
when it commits it. Rather than keep that intent in a table of its own, the server hands it
back inside the pending artifact's opaque ID (``Artifact:<version id>~<intent>``, base64):
the client returns the ID unchanged with every call, and the commit reads the intent from it.
Only the caller's own wishes travel this way; the commit still checks everything as the
caller.

The manifest reaches the server by a signed PUT (:mod:`cairn.server.transfer_urls`);
:func:`receive_manifest` merges its entries into the pending version (the core's
``add_entries``: a whole manifest, or one writer's patch of a distributed version), after
admitting the blobs the client put on S3 by presigned URL.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from cairn.core.access import Principal
from cairn.errors import ValidationError
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import stored_blob
from cairn.server import multipart
from cairn.server.graphql import ids
from cairn.server.state import ServerState

ARTIFACT = "Artifact"
_SEP = "~"


@dataclass(frozen=True)
class Intent:
    """What the creator asked for at commit: custom aliases and tags."""

    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def draft_id(version_id: str, intent: Intent) -> str:
    """The ID of a pending artifact, carrying the creator's intent."""
    if not intent.aliases and not intent.tags:
        return ids.encode(ARTIFACT, version_id)
    packed = json.dumps({"a": list(intent.aliases), "t": list(intent.tags)}, separators=(",", ":"))
    token = base64.urlsafe_b64encode(packed.encode()).decode().rstrip("=")
    return ids.encode(ARTIFACT, f"{version_id}{_SEP}{token}")


def parse_artifact_id(value: str) -> tuple[str, Intent]:
    """(version id, intent) of an Artifact ID, a pending one's or a committed one's.

    Raises:
        ValidationError: not an Artifact ID.
    """
    key = ids.decode(ARTIFACT, value)
    version_id, sep, token = key.partition(_SEP)
    if not sep:
        return version_id, Intent()
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return version_id, Intent(tuple(map(str, body["a"])), tuple(map(str, body["t"])))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ValidationError(f"{value!r} is not an Artifact ID") from None


def version_of(value: str) -> str:
    return parse_artifact_id(value)[0]


def _birth(entry: ManifestEntry) -> ManifestEntry:
    """W&B writes the Artifact ID we gave each file as its birthArtifactID; Cairn stores the
    version id itself (what its own SDK writes), so both clients read the same manifest."""
    birth = entry.birth_artifact_id
    if birth is None:
        return entry
    try:
        return entry.with_changes(birth_artifact_id=version_of(birth))
    except ValidationError:
        return entry  # already a plain version id (a file carried over from a Cairn version)


def receive_manifest(state: ServerState, who: Principal, version_id: str, raw: bytes) -> int:
    """Merge an uploaded W&B manifest into pending version ``version_id``; returns the number
    of entries added.

    Raises:
        ValidationError: not a manifest.
        BlobNotFoundError: it names a blob the caller neither holds nor uploaded.
        EntryConflictError, ConflictError, ArtifactNotFoundError: as the core's ``add_entries``.
    """
    manifest = Manifest(_birth(e) for e in Manifest.from_bytes(raw))
    svc = state.service.bind(who)
    if state.presigned:
        sizes = {
            stored_blob(e.digest, e.extra): int(e.size or 0) for e in manifest if e.ref is None
        }
        staged = svc.missing_blobs(list(sizes))
        if staged:  # put by presigned URL to the caller's staging keys: admit them now
            multipart.direct(state, who).confirm([(d, sizes[d]) for d in staged])
    return svc.add_entries(version_id, manifest)

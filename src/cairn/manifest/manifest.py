"""The manifest document: logical path → entry, and its JSON form.

``wandb_manifest.json`` shape::

    {"version": 1,
     "storagePolicy": "wandb-storage-policy-v1",
     "storagePolicyConfig": {"storageLayout": "V2"},
     "contents": {path: {"digest", "size", "ref"?, "birthArtifactID"?, "extra"?}}}

Readers ignore keys they do not know (W&B's own uploads carry ``local_path``, ``skip_cache``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import IO, Any

from cairn.errors import ValidationError
from cairn.manifest.digest import check_b64_digest, version_digest
from cairn.manifest.paths import normalize_entry_path

STORAGE_POLICY = "wandb-storage-policy-v1"
# One shared empty mapping: a manifest of a million entries should not hold a million dicts.
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})
STORAGE_POLICY_CONFIG = {"storageLayout": "V2"}


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file (or reference) of an artifact.

    ``digest`` is the base64 MD5 for stored files, or what the reference's store reports.
    ``local_path`` exists only on drafts: where the bytes are to be read from; it never
    reaches the manifest JSON.
    """

    path: str
    digest: str
    size: int | None = None
    ref: str | None = None
    birth_artifact_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _NO_EXTRA)
    local_path: str | None = field(default=None, compare=False)

    @property
    def is_reference(self) -> bool:
        return self.ref is not None

    def with_changes(self, **changes: Any) -> ManifestEntry:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digest": self.digest}
        if self.ref is not None:
            out["ref"] = self.ref
        if self.birth_artifact_id is not None:
            out["birthArtifactID"] = self.birth_artifact_id
        if self.size is not None:
            out["size"] = self.size
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_json(cls, path: str, data: Mapping[str, Any]) -> ManifestEntry:
        """Build an entry from its JSON form, checking every field a peer could get wrong."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"manifest entry {path!r} must be an object")
        norm = normalize_entry_path(path)
        if norm != path:
            raise ValidationError(f"manifest path {path!r} is not normalised (expected {norm!r})")
        digest = data.get("digest")
        ref = data.get("ref")
        if ref is not None and not isinstance(ref, str):
            raise ValidationError(f"manifest entry {path!r}: 'ref' must be a string")
        if not isinstance(digest, str) or not digest:
            raise ValidationError(f"manifest entry {path!r}: 'digest' must be a string")
        if ref is None:
            check_b64_digest(digest)
        size = data.get("size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise ValidationError(f"manifest entry {path!r}: 'size' must be a whole number >= 0")
        if ref is None and size is None:
            raise ValidationError(f"manifest entry {path!r}: a stored file needs a 'size'")
        birth = data.get("birthArtifactID")
        if birth is not None and not isinstance(birth, str):
            raise ValidationError(f"manifest entry {path!r}: 'birthArtifactID' must be a string")
        extra = data.get("extra") or {}
        if not isinstance(extra, Mapping):
            raise ValidationError(f"manifest entry {path!r}: 'extra' must be an object")
        return cls(
            path=path,
            digest=digest,
            size=size,
            ref=ref,
            # Most entries of a version share one birth id: one string for all of them.
            birth_artifact_id=sys.intern(birth) if birth is not None else None,
            extra=dict(extra) if extra else _NO_EXTRA,
        )


class Manifest:
    """An ordered mapping of entry path → :class:`ManifestEntry`."""

    version = 1

    def __init__(self, entries: Iterable[ManifestEntry] = ()) -> None:
        self._entries: dict[str, ManifestEntry] = {}
        for e in entries:
            self._entries[e.path] = e

    # -- mapping-like access -------------------------------------------------------------
    @property
    def entries(self) -> dict[str, ManifestEntry]:
        return self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self._entries.values())

    def __contains__(self, path: object) -> bool:
        return path in self._entries

    def get(self, path: str) -> ManifestEntry | None:
        return self._entries.get(path)

    def add(self, entry: ManifestEntry) -> None:
        self._entries[entry.path] = entry

    def remove(self, path: str) -> None:
        del self._entries[path]

    def paths_under(self, prefix: str) -> list[str]:
        """Every path equal to ``prefix`` or inside the directory ``prefix/``."""
        base = prefix + "/"
        return [p for p in self._entries if p == prefix or p.startswith(base)]

    def copy(self) -> Manifest:
        return Manifest(self._entries.values())

    # -- identity --------------------------------------------------------------------------
    def digest(self) -> str:
        return version_digest((e.path, e.digest) for e in self._entries.values())

    @property
    def size(self) -> int:
        return sum(e.size or 0 for e in self._entries.values())

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "storagePolicy": STORAGE_POLICY,
            "storagePolicyConfig": dict(STORAGE_POLICY_CONFIG),
            "contents": {p: self._entries[p].to_json() for p in sorted(self._entries)},
        }

    def to_manifest_json(self) -> dict[str, Any]:
        """W&B's name for :meth:`to_json`: the ``wandb_manifest.json`` document."""
        return self.to_json()

    def to_bytes(self) -> bytes:
        """Canonical bytes: sorted keys, no whitespace; same manifest → same bytes."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    def write_canonical(self, out: IO[bytes]) -> None:
        """Write exactly :meth:`to_bytes`, one entry at a time (no whole-document copy)."""
        for chunk in self.iter_canonical():
            out.write(chunk)

    def iter_canonical(self, chunk_entries: int = 1000) -> Iterator[bytes]:
        """:meth:`to_bytes` in pieces of ``chunk_entries`` entries, for streaming it."""
        dump = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
        parts = ['{"contents":{']
        for i, path in enumerate(sorted(self._entries)):
            if i:
                parts.append(",")
            parts.append(f"{dump(path)}:{dump(self._entries[path].to_json())}")
            if len(parts) >= 2 * chunk_entries:
                yield "".join(parts).encode()
                parts = []
        tail = {
            "storagePolicy": STORAGE_POLICY,
            "storagePolicyConfig": STORAGE_POLICY_CONFIG,
            "version": self.version,
        }
        parts.append("}," + dump(tail)[1:])
        yield "".join(parts).encode()

    @classmethod
    def from_json(cls, data: object) -> Manifest:
        if not isinstance(data, Mapping):
            raise ValidationError("manifest must be a JSON object")
        if data.get("version") != 1:
            raise ValidationError(f"unsupported manifest version {data.get('version')!r}")
        contents = data.get("contents")
        if not isinstance(contents, Mapping):
            raise ValidationError("manifest 'contents' must be an object")
        return cls(ManifestEntry.from_json(p, v) for p, v in contents.items())

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ValidationError(f"manifest is not valid JSON: {exc}") from None
        return cls.from_json(data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifest) and self._entries == other._entries

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Manifest {len(self)} entries digest={self.digest()}>"

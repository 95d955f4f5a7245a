"""ArtifactManifestEntry: one entry of an artifact, bound to the artifact it came from."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cairn.errors import ArtifactNotLoggedError, ValidationError
from cairn.manifest import ManifestEntry
from cairn.snapshots import is_staged

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact


class ArtifactManifestEntry:
    """A file or reference inside an artifact (what ``get_entry`` and ``add_*`` return)."""

    __slots__ = ("_entry", "_parent")

    def __init__(self, entry: ManifestEntry, parent: Artifact | None) -> None:
        self._entry = entry
        self._parent = parent

    @property
    def path(self) -> str:
        return self._entry.path

    @property
    def digest(self) -> str:
        return self._entry.digest

    @property
    def size(self) -> int | None:
        return self._entry.size

    @property
    def ref(self) -> str | None:
        return self._entry.ref

    @property
    def birth_artifact_id(self) -> str | None:
        return self._entry.birth_artifact_id

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self._entry.extra)

    @property
    def local_path(self) -> str | None:
        """The file a draft entry's bytes will be uploaded from; None when there is none (a
        logged entry, or a small file's snapshot, which lives inside a staging pack: see
        :mod:`cairn.cache.staging`)."""
        path = self._entry.local_path
        return None if path is None or is_staged(path) else path

    @property
    def manifest_entry(self) -> ManifestEntry:
        return self._entry

    def parent_artifact(self) -> Artifact:
        if self._parent is None:
            raise ArtifactNotLoggedError("parent_artifact")
        return self._parent

    def ref_target(self) -> str:
        """The URI a reference entry points at."""
        if self._entry.ref is None:
            raise ValidationError(f"entry {self.path!r} is a stored file, not a reference")
        return self._entry.ref

    def ref_url(self) -> str:
        """A URI naming this entry of its (logged) artifact: ``cairn-artifact://<id>/<path>``."""
        parent = self.parent_artifact()
        if parent.id is None:
            raise ArtifactNotLoggedError("ref_url")
        return f"cairn-artifact://{parent.id}/{self.path}"

    def download(
        self, root: str | os.PathLike[str] | None = None, skip_cache: bool | None = None
    ) -> str:
        """Download just this entry; returns its local path."""
        parent = self.parent_artifact()
        return parent._download_entries([self.path], root=root, skip_cache=skip_cache)[self.path]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ArtifactManifestEntry):
            return self._entry == other._entry
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._entry.path, self._entry.digest))

    def __repr__(self) -> str:
        kind = f"ref={self.ref!r}" if self.ref else f"size={self.size}"
        return f"<ArtifactManifestEntry {self.path!r} digest={self.digest!r} {kind}>"

"""The Artifact: a draft you add files to, and, once logged, an immutable version.

A draft keeps its manifest in memory. ``add_file``/``add_dir`` hash each file once (memoised)
and, under the default ``policy="mutable"``, snapshot its bytes into the object cache on the
same read, so later edits to the original cannot corrupt the upload. Logging runs the commit
protocol through the run's backend; the artifact then describes the committed version.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from cairn import naming
from cairn.backend.base import Backend
from cairn.cache import hash_files
from cairn.cache.hashing import copy_hashing, walk_files
from cairn.config import Settings
from cairn.errors import (
    ArtifactFinalizedError,
    ArtifactNotLoggedError,
    BlobNotFoundError,
    CairnError,
    EntryConflictError,
    EntryNotFoundError,
    FileFolderConflictError,
    LocalPathError,
    PathNotInArtifactError,
    ValidationError,
)
from cairn.faults import fault_point
from cairn.manifest import Manifest, ManifestEntry, b64_to_hex, normalize_entry_path
from cairn.manifest.digest import hex_to_b64
from cairn.manifest.paths import file_folder_clash
from cairn.records import (
    COMMITTED,
    DELETED,
    PENDING,
    TTL_INHERIT,
    TTL_NEVER,
    VersionRecord,
    VersionSpec,
    VersionUpdate,
)
from cairn.references import handler_for
from cairn.sdk import context, linking, transfer
from cairn.sdk.artifact_ttl import ArtifactTTL
from cairn.sdk.entry import ArtifactManifestEntry
from cairn.sdk.lineage import LineageGraph

if TYPE_CHECKING:
    from cairn.records import HistoryEvent
    from cairn.sdk.api import ArtifactCollection
    from cairn.sdk.files import ArtifactFiles
    from cairn.sdk.run import Run

Policy = Literal["mutable", "immutable"]
# How an entry of a logged artifact is named as a URI (ours, and W&B's spelling).
ARTIFACT_URI_SCHEMES = ("cairn-artifact://", "wandb-artifact://")


def _check_policy(policy: object) -> Policy:
    if policy not in ("mutable", "immutable"):
        raise ValidationError(f'policy must be "mutable" or "immutable", got {policy!r}')
    return policy  # type: ignore[return-value]


class Artifact:
    """A versioned folder of files and references (see the W&B ``Artifact`` reference)."""

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
    ) -> None:
        self._name = naming.check_name(name)
        self._type = naming.check_type(type)
        self._description = naming.check_description(description)
        self._metadata: dict[str, Any] = naming.clean_metadata(metadata)
        self._incremental = bool(incremental)
        self._use_as = use_as
        self._manifest: Manifest | None = Manifest()
        self._dirs: Counter[str] = Counter()
        self._added_local: dict[str, str] = {}
        self._staged: set[str] = set()
        self._tmp_dir: Path | None = None
        self._final = False
        self._aliases: list[str] = []
        self._tags: list[str] = []
        # W&B's TTL state: inherit the entity's default, or this many seconds (None: never).
        self._ttl_inherit = True
        self._ttl_seconds: int | None = None
        self._ttl_changed = False
        self._record: VersionRecord | None = None
        self._backend: Backend | None = None
        self._settings: Settings | None = None
        self._draft_settings: Settings | None = None
        self._logging: Future[None] | None = None  # set while a log runs in the background
        self._pending_id: str | None = None  # the shared version this draft was upserted into
        self._log_error_reported = False

    # -- construction from a logged version -------------------------------------------------
    @classmethod
    def _from_record(cls, record: VersionRecord, backend: Backend, settings: Settings) -> Artifact:
        art = cls.__new__(cls)
        Artifact.__init__(art, record.collection, record.type)
        art._bind(record, backend, settings)
        return art

    def _bind(self, record: VersionRecord, backend: Backend, settings: Settings) -> None:
        self._record = record
        self._backend = backend
        self._settings = settings
        self._name = record.collection
        self._type = record.type
        self._description = record.description
        self._metadata = dict(record.metadata)
        self._aliases = list(record.aliases)
        self._tags = list(record.tags)
        self._ttl_inherit, self._ttl_seconds = record.ttl_inherit, record.ttl_seconds
        self._ttl_changed = False
        self._final = True
        self._manifest = None  # loaded from the store when first needed
        self._dirs = Counter()

    # -- helpers ------------------------------------------------------------------------------
    def _ensure_logged(self, operation: str) -> VersionRecord:
        if self._record is None and self._logging is not None:
            self.wait()  # logged in the background: its attributes are worth waiting for
        if self._record is None:
            raise ArtifactNotLoggedError(operation)
        return self._record

    def _ensure_draft(self, operation: str) -> Manifest:
        if self._final:
            raise ArtifactFinalizedError(operation)
        assert self._manifest is not None
        return self._manifest

    def _local_settings(self) -> Settings:
        if self._settings is not None:
            return self._settings
        if self._draft_settings is None:
            self._draft_settings = context.settings()
        return self._draft_settings

    def _loaded_manifest(self) -> Manifest:
        if self._manifest is None:
            record = self._ensure_logged("manifest")
            assert self._backend is not None
            _digest, raw = self._backend.get_manifest(record.id)
            self._manifest = Manifest.from_bytes(raw)
        return self._manifest

    # -- identity and attributes --------------------------------------------------------------
    @property
    def id(self) -> str | None:
        return self._record.id if self._record else None

    @property
    def name(self) -> str:
        """``collection:vN`` once logged; the bare name on a draft."""
        if self._record is None:
            return self._name
        return f"{self._name}:{self._record.version}"

    @name.setter
    def name(self, value: str) -> None:
        if self._record is not None:
            raise ArtifactFinalizedError("set name")
        self._name = naming.check_name(value)

    @property
    def type(self) -> str:
        return self._type

    @property
    def version(self) -> str:
        return self._ensure_logged("version").version

    @property
    def source_version(self) -> str:
        r = self._ensure_logged("source_version")
        return f"v{r.source_index}" if r.is_link else r.version

    @property
    def entity(self) -> str:
        return self._ensure_logged("entity").entity

    @property
    def project(self) -> str:
        return self._ensure_logged("project").project

    @property
    def source_entity(self) -> str:
        r = self._ensure_logged("source_entity")
        return r.source_entity or r.entity

    @property
    def source_project(self) -> str:
        r = self._ensure_logged("source_project")
        return r.source_project or r.project

    @property
    def source_name(self) -> str:
        """``collection:vN`` (of the source, for a link); the bare name on a draft (its version
        is not known yet)."""
        r = self._record
        if r is not None and r.is_link:
            return f"{r.source_collection}:v{r.source_index}"
        return self.name

    @property
    def is_link(self) -> bool:
        """True for a version seen through a portfolio (a membership), False otherwise."""
        return self._record is not None and self._record.is_link

    @property
    def linked_at(self) -> datetime | None:
        """When this membership was made (None unless ``is_link``)."""
        return self._ensure_logged("linked_at").linked_at

    @property
    def qualified_name(self) -> str:
        """``entity/project/collection:vN``: a path ``Api().artifact()`` resolves to this version.

        Raises ArtifactNotLoggedError on a draft (it has no entity or project yet).
        """
        r = self._ensure_logged("qualified_name")
        return f"{r.entity}/{r.project}/{r.collection}:{r.version}"

    @property
    def source_qualified_name(self) -> str:
        r = self._ensure_logged("source_qualified_name")
        if r.is_link:
            return f"{r.source_entity}/{r.source_project}/{r.source_collection}:v{r.source_index}"
        return self.qualified_name

    @property
    def collection(self) -> ArtifactCollection:
        r = self._ensure_logged("collection")
        from cairn.sdk.api import ArtifactCollection

        assert self._backend is not None and self._settings is not None
        return ArtifactCollection._load(
            self._backend, self._settings, r.entity, r.project, r.collection
        )

    @property
    def source_collection(self) -> ArtifactCollection:
        r = self._ensure_logged("source_collection")
        if not r.is_link:
            return self.collection
        from cairn.sdk.api import ArtifactCollection

        assert self._backend is not None and self._settings is not None
        assert r.source_entity and r.source_project and r.source_collection
        return ArtifactCollection._load(
            self._backend, self._settings, r.source_entity, r.source_project, r.source_collection
        )

    @property
    def commit_hash(self) -> str | None:
        return self._ensure_logged("commit_hash").commit_hash

    @property
    def created_at(self) -> str:
        """When the version was created, as an ISO-8601 UTC string (W&B returns a string)."""
        return self._ensure_logged("created_at").created_at.isoformat()

    @property
    def updated_at(self) -> str:
        """When the version was last changed, as an ISO-8601 UTC string."""
        return self._ensure_logged("updated_at").updated_at.isoformat()

    @property
    def history_step(self) -> int | None:
        """The run history step this version was logged at; None: Cairn records none yet.

        Raises ArtifactNotLoggedError on a draft.
        """
        self._ensure_logged("history_step")
        return None

    @property
    def state(self) -> str:
        if self._record is None and self._logging is not None and self._logging.done():
            with contextlib.suppress(Exception):
                self.wait()
        return self._record.state if self._record is not None else PENDING

    @property
    def use_as(self) -> str | None:
        return self._use_as

    @property
    def incremental(self) -> bool:
        return self._incremental

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = naming.check_description(value)

    @property
    def metadata(self) -> dict[str, Any]:
        """User metadata; mutate it in place or assign a new dict, then ``save()``."""
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = naming.clean_metadata(value)

    @property
    def aliases(self) -> list[str]:
        """The version's aliases (``latest`` included while it is the latest); edit, then
        ``save()``. Raises ArtifactNotLoggedError on a draft: give aliases to ``log_artifact``.
        """
        self._ensure_logged("aliases")
        return self._aliases

    @aliases.setter
    def aliases(self, value: Sequence[str] | str) -> None:
        self._ensure_logged("aliases")
        values = [value] if isinstance(value, str) else list(value)
        for a in values:
            if a != "latest":
                naming.check_alias(a)
        self._aliases = values

    @property
    def tags(self) -> list[str]:
        """The version's tags; edit, then ``save()``. ArtifactNotLoggedError on a draft."""
        self._ensure_logged("tags")
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str] | str) -> None:
        self._ensure_logged("tags")
        self._tags = naming.clean_tags(value)

    @property
    def ttl(self) -> timedelta | None:
        """How long after its creation the version is deleted (None: never).

        Raises ArtifactNotLoggedError while it inherits the entity's default and is a draft
        (or was set to inherit and not saved yet): only the store knows that default.
        """
        if self._ttl_inherit and (self._record is None or self._ttl_changed):
            raise ArtifactNotLoggedError("ttl")
        return timedelta(seconds=self._ttl_seconds) if self._ttl_seconds is not None else None

    @ttl.setter
    def ttl(self, value: timedelta | ArtifactTTL | None) -> None:
        """A positive ``timedelta``, ``None`` (never expire, whatever the entity's default) or
        ``ArtifactTTL.INHERIT``; on a logged version, ``save()`` stores it.

        Raises ValidationError (a ValueError) for a non-positive duration, another type, or a
        linked artifact (set the TTL of its source instead).
        """
        if self.is_link:
            raise ValidationError(
                "cannot set the TTL of a linked artifact: set it on its source artifact"
            )
        if value is ArtifactTTL.INHERIT:
            self._ttl_inherit, self._ttl_seconds = True, None
        elif value is None:
            self._ttl_inherit, self._ttl_seconds = False, None
        elif isinstance(value, timedelta):
            seconds = int(value.total_seconds())
            if seconds <= 0:
                raise ValidationError(
                    f"artifact TTL has to be positive, got {value.total_seconds()} seconds"
                )
            self._ttl_inherit, self._ttl_seconds = False, seconds
        else:
            raise ValidationError(
                f"ttl must be a timedelta, None or ArtifactTTL.INHERIT, got {value!r}"
            )
        self._ttl_changed = True

    def _ttl_wire(self) -> int:
        if self._ttl_inherit:
            return TTL_INHERIT
        return self._ttl_seconds if self._ttl_seconds is not None else TTL_NEVER

    @property
    def manifest(self) -> Manifest:
        return self._loaded_manifest()

    @property
    def digest(self) -> str:
        if self._record is not None:
            return self._record.digest
        return self._loaded_manifest().digest()

    @property
    def size(self) -> int:
        if self._record is not None:
            return self._record.size
        return self._loaded_manifest().size

    @property
    def file_count(self) -> int:
        """Files and references in the version; ArtifactNotLoggedError on a draft (as W&B)."""
        return self._ensure_logged("file_count").file_count

    def is_draft(self) -> bool:
        if self._record is None and self._logging is not None:
            self.wait()
        return self._record is None

    def finalize(self) -> None:
        """Freeze the draft: no more ``add*``/``remove``."""
        self._final = True

    # -- building a draft ------------------------------------------------------------------------
    def _dir_conflict(self, manifest: Manifest, path: str) -> str | None:
        if self._dirs[path] > 0:
            return f"{path!r} is already a folder in this artifact"
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if prefix in manifest:
                return f"{prefix!r} is already a file in this artifact"
        return None

    def _add_entries(
        self,
        entries: Sequence[ManifestEntry],
        *,
        overwrite: bool,
        local_paths: dict[str, str] | None = None,
    ) -> list[ManifestEntry]:
        """Add entries all-or-nothing: every check runs before the draft changes."""
        manifest = self._ensure_draft("add")
        seen: dict[str, ManifestEntry] = {}
        for e in entries:
            if e.path in seen and seen[e.path].digest != e.digest:
                raise EntryConflictError(f"two different files would both be {e.path!r}")
            seen[e.path] = e
            old = manifest.get(e.path)
            if old is not None:
                if old.digest != e.digest and not overwrite:
                    raise EntryConflictError(
                        f"{e.path!r} is already in this artifact with different content; pass "
                        "overwrite=True to replace it"
                    )
                continue
            why = self._dir_conflict(manifest, e.path)
            if why is not None:
                raise FileFolderConflictError(f"cannot add {e.path!r}: {why}")
        # The same rule among the new entries themselves (a bucket may hold keys a and a/b).
        clash = file_folder_clash(seen)
        if clash is not None:
            raise FileFolderConflictError(
                f"cannot add both {clash[0]!r} and {clash[1]!r}: an entry is a file or a folder"
            )
        out = []
        for e in seen.values():
            if e.path not in manifest:
                parts = e.path.split("/")
                for i in range(1, len(parts)):
                    self._dirs["/".join(parts[:i])] += 1
            manifest.add(e)
            out.append(e)
        if local_paths:
            self._added_local.update(local_paths)
        return out

    def _hash_local(
        self, paths: Sequence[str], *, policy: Policy, skip_cache: bool | None
    ) -> list[tuple[str, str, int]]:
        """(digest, local path to upload from, size) for each file, reading each at most once."""
        settings = self._local_settings()
        cache = context.cache_for(settings)
        if policy == "immutable":
            return [
                (fd.digest, fd.path, fd.size)
                for fd in hash_files(paths, cache.memo, workers=settings.hash_workers)
            ]
        if not skip_cache:
            return [
                (fd.digest, str(fd.cached), fd.size)
                for fd in hash_files(paths, cache.memo, cache=cache, workers=settings.hash_workers)
            ]
        # mutable but kept out of the cache: a private staged copy, removed after logging
        out = []
        staging = self._staging_dir()
        for p in paths:
            with open(p, "rb") as src:
                dest = staging / uuid.uuid4().hex
                h, size = copy_hashing(src, dest)
            self._staged.add(str(dest))
            out.append((hex_to_b64(h), str(dest), size))
        return out

    def _staging_dir(self) -> Path:
        if self._tmp_dir is None:
            base = self._local_settings().cache_dir / "staging"
            base.mkdir(parents=True, exist_ok=True)
            self._tmp_dir = Path(tempfile.mkdtemp(prefix="draft-", dir=base))
        return self._tmp_dir

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: Policy | None = "mutable",
        overwrite: bool = False,
    ) -> ArtifactManifestEntry:
        """Add one local file, at ``name`` (default: its basename)."""
        self._ensure_draft("add_file")
        policy = _check_policy(policy or "mutable")
        path = os.path.abspath(os.fspath(local_path))
        if not os.path.isfile(path):
            raise LocalPathError(f"path is not a file: {local_path}")
        entry_name = normalize_entry_path(name if name is not None else os.path.basename(path))
        ((digest, source, size),) = self._hash_local([path], policy=policy, skip_cache=skip_cache)
        if is_tmp:
            # A temporary file's name is arbitrary: name it by its content instead.
            folder, _, base = entry_name.rpartition("/")
            _stem, dot, ext = base.partition(".")
            base = b64_to_hex(digest)[:20] + (dot + ext if dot else "")
            entry_name = f"{folder}/{base}" if folder else base
        entry = ManifestEntry(path=entry_name, digest=digest, size=size, local_path=source)
        (added,) = self._add_entries([entry], overwrite=overwrite, local_paths={path: entry_name})
        return ArtifactManifestEntry(added, self)

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: Policy | None = "mutable",
    ) -> None:
        """Add every file under a folder (following links), at ``name/relpath`` or ``relpath``."""
        self._ensure_draft("add_dir")
        policy = _check_policy(policy or "mutable")
        root = os.path.abspath(os.fspath(local_path))
        if not os.path.isdir(root):
            raise LocalPathError(f"path is not a directory: {local_path}")
        prefix = normalize_entry_path(name) if name else None
        files = walk_files(Path(root))
        names = [normalize_entry_path(f"{prefix}/{rel}" if prefix else rel) for _, rel in files]
        hashed = self._hash_local([f for f, _ in files], policy=policy, skip_cache=skip_cache)
        entries = [
            ManifestEntry(path=n, digest=d, size=size, local_path=src)
            for n, (d, src, size) in zip(names, hashed, strict=True)
        ]
        self._add_entries(
            entries,
            overwrite=False,
            local_paths={f: n for (f, _), n in zip(files, names, strict=True)},
        )

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None
    ) -> Iterator[IO[Any]]:
        """Open a new file; when the ``with`` block ends it is added at ``name``.

        With ``mode="x"`` (the default) a name already in the artifact raises
        EntryConflictError before the block runs; with ``"w"`` the new file replaces it.
        """
        manifest = self._ensure_draft("new_file")
        entry_name = normalize_entry_path(name)
        replace = "x" not in mode
        if entry_name in manifest and not replace:
            raise EntryConflictError(f"a file named {entry_name!r} is already in this artifact")
        if not set(mode) <= set("xwbt+") or not ({"x", "w"} & set(mode)):
            raise ValidationError(f"new_file mode {mode!r}: use a writing mode such as 'x' or 'w'")
        path = self._staging_dir() / f"new-{uuid.uuid4().hex}"
        try:
            with open(path, mode, encoding=encoding) as f:
                yield f
            self.add_file(str(path), name=entry_name, overwrite=replace)
        finally:  # added or not (the block raised), the scratch file goes
            path.unlink(missing_ok=True)
            self._added_local.pop(str(path), None)

    def add_reference(
        self,
        uri: ArtifactManifestEntry | str,
        name: str | os.PathLike[str] | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> Sequence[ArtifactManifestEntry]:
        """Track data that stays where it is: file, http(s), s3, gs and Azure Blob URIs;
        other schemes are tracked by URI only (see :mod:`cairn.references`)."""
        self._ensure_draft("add_reference")
        if isinstance(uri, ArtifactManifestEntry) or (
            isinstance(uri, str) and uri.startswith(ARTIFACT_URI_SCHEMES)
        ):
            entry = self._entry_reference(uri, name)
            return [
                ArtifactManifestEntry(e, self) for e in self._add_entries([entry], overwrite=False)
            ]
        if not isinstance(uri, str) or "://" not in uri:
            raise ValidationError(f"reference {uri!r} must be a URI such as file:///data/x")
        if max_objects is not None and (not isinstance(max_objects, int) or max_objects < 1):
            raise ValidationError("max_objects must be a whole number of at least 1")
        cache = context.cache_for(self._local_settings())
        entry_name = os.fspath(name) if name is not None else None
        entries = handler_for(uri, cache.memo).store(
            uri, entry_name, checksum=checksum, max_objects=max_objects
        )
        return [ArtifactManifestEntry(e, self) for e in self._add_entries(entries, overwrite=False)]

    def _entry_reference(
        self, target: ArtifactManifestEntry | str, name: str | os.PathLike[str] | None
    ) -> ManifestEntry:
        """An entry standing for an entry of another logged artifact.

        It resolves to what that entry finally is — the same stored blob (digest, size and
        birth artifact), or the same external reference — so references never chain.
        Raises ArtifactNotLoggedError for an entry of a draft, NotFoundError if it is gone.
        """
        if isinstance(target, ArtifactManifestEntry):
            parent = target.parent_artifact()
            if parent.is_draft():
                raise ArtifactNotLoggedError("add_reference to an entry of an unlogged artifact")
            source = target.manifest_entry
        else:
            version_id, _, path = target.split("://", 1)[1].partition("/")
            if not version_id or not path:
                raise ValidationError(
                    f"artifact entry URI {target!r}: use cairn-artifact://<artifact id>/<path>"
                )
            backend = context.backend_for(self._local_settings())
            rows, _ = backend.list_files(
                version_id, names=[normalize_entry_path(path)], after=None, limit=1
            )
            if not rows:
                raise EntryNotFoundError(f"no entry {path!r} in artifact {version_id}")
            source = ManifestEntry.from_json(rows[0]["path"], rows[0])
        base = source.path.rsplit("/", 1)[-1]
        return ManifestEntry(
            path=normalize_entry_path(name if name is not None else base),
            digest=source.digest,
            size=source.size,
            ref=source.ref,
            birth_artifact_id=source.birth_artifact_id,
            extra=source.extra,
        )

    def add(self, obj: Any, name: str, overwrite: bool = False) -> ArtifactManifestEntry:
        """Store a rich object (Table, Image, …) at ``name``: ``name.<kind>.json`` + its media.

        Returns the entry of the JSON file. Raises UnsupportedObjectError (a TypeError, as in
        W&B) for an object that is not a supported media type.
        """
        self._ensure_draft("add")
        from cairn import media

        staging = Path(tempfile.mkdtemp(prefix="add-", dir=self._staging_dir()))
        try:
            files = media.serialize(obj, name, staging)
            entries = [
                self.add_file(str(local), name=path, overwrite=overwrite) for path, local in files
            ]
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return entries[0]

    def __setitem__(self, name: str, item: Any) -> ArtifactManifestEntry:
        return self.add(item, name)

    def get(self, name: str) -> Any:
        """Rebuild the rich object stored at ``name`` by :meth:`add`.

        Raises ArtifactNotLoggedError on a draft and KeyError if nothing is stored there.
        """
        self._ensure_logged("get")
        from cairn import media

        manifest = self._loaded_manifest()

        def read(path: str) -> Path | None:
            if path not in manifest:
                return None
            return Path(self._download_entries([path], root=None, skip_cache=None)[path])

        def list_paths(prefix: str) -> list[str]:
            return manifest.paths_under(normalize_entry_path(prefix))

        return media.deserialize(name, read, list_paths)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def remove(self, item: str | os.PathLike[str] | ArtifactManifestEntry) -> None:
        """Remove a file, or every file under a folder, from the draft."""
        manifest = self._ensure_draft("remove")
        raw = item.path if isinstance(item, ArtifactManifestEntry) else os.fspath(item)
        path = normalize_entry_path(raw)
        doomed = manifest.paths_under(path)
        if not doomed:
            raise PathNotInArtifactError(f"no file or folder {path!r} in this artifact")
        for p in doomed:
            manifest.remove(p)
            parts = p.split("/")
            for i in range(1, len(parts)):
                self._dirs["/".join(parts[:i])] -= 1
        gone = set(doomed)
        self._added_local = {k: v for k, v in self._added_local.items() if v not in gone}

    def get_entry(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        """The entry at ``name`` of a logged version.

        Raises ArtifactNotLoggedError on a draft (as W&B) and KeyError (EntryNotFoundError) if
        there is no such entry.
        """
        self._ensure_logged("get_entry")
        path = normalize_entry_path(name)
        if self._manifest is None and self._record is not None:
            assert self._backend is not None
            rows, _ = self._backend.list_files(self._record.id, names=[path], after=None, limit=1)
            if rows:
                row = rows[0]
                return ArtifactManifestEntry(ManifestEntry.from_json(row["path"], row), self)
        else:
            entry = self._loaded_manifest().get(path)
            if entry is not None:
                return ArtifactManifestEntry(entry, self)
        raise EntryNotFoundError(f"no entry {path!r} in artifact {self.name}")

    def get_path(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        """Deprecated: use :meth:`get_entry`."""
        warnings.warn(
            "Artifact.get_path is deprecated; use get_entry", DeprecationWarning, stacklevel=2
        )
        return self.get_entry(name)

    def get_added_local_path_name(self, local_path: str | os.PathLike[str]) -> str | None:
        """The artifact path a local file was added under, if it was."""
        return self._added_local.get(os.path.abspath(os.fspath(local_path)))

    # -- logging ---------------------------------------------------------------------------------
    def _prepare_log(
        self,
        run: Run,
        aliases: Sequence[str] | None,
        tags: Sequence[str] | None,
        distributed_id: str | None = None,
    ) -> tuple[str, list[str], list[str]]:
        """Check everything and open the PENDING version, in the caller's thread.

        Bad input and conflicts (a collection of another type) are raised here, at the call,
        before anything runs in the background. Returns (version id, aliases, tags).
        A logged version is logged again (its manifest, in its own project), which resolves to
        that same version, as in W&B.
        """
        if self._record is not None and distributed_id is None:
            r = self._record
            if (r.entity, r.project) != (run.entity, run.project):
                raise ValidationError(
                    f"artifact {self.qualified_name} belongs to {r.entity}/{r.project}; it "
                    f"cannot be logged to {run.entity}/{run.project}"
                )
        else:
            self._ensure_draft("log_artifact")
        # Only the given ones: a draft has none of its own (the setters need a logged version)
        # and a logged version keeps those it has.
        all_aliases = naming.clean_aliases(aliases)
        all_tags = naming.clean_tags(tags)
        metadata = naming.clean_metadata(self._metadata)
        version_id = run._backend.begin_version(
            VersionSpec(
                entity=run.entity,
                project=run.project,
                collection=self._name,
                type=self._type,
                description=self._description,
                metadata=metadata,
                run_id=run.id,
                distributed_id=distributed_id,
                incremental=self._incremental,
                ttl_seconds=self._ttl_wire(),
            )
        )
        fault_point("log.after_begin")
        self._final = True
        return version_id, all_aliases, all_tags

    def _upload_and_commit(
        self, run: Run, version_id: str, aliases: list[str], tags: list[str]
    ) -> None:
        backend, settings = run._backend, run._settings
        manifest = self._manifest
        assert manifest is not None
        try:
            # The same content as the latest version: that version is the answer, and saying
            # so takes one digest, with no blob or manifest sent. (If another version was
            # committed meanwhile, the answer is None and the version is committed as usual.)
            record = None
            if not self._incremental:
                record = backend.commit_if_unchanged(
                    version_id, manifest.digest(), aliases=aliases, tags=tags
                )
            attempt = 0
            while record is None:
                attempt += 1
                try:
                    transfer.upload_missing(
                        manifest,
                        backend,
                        context.cache_for(settings),
                        self._staged,
                        silent=settings.silent,
                    )
                    fault_point("log.before_commit")
                    record = backend.commit_version(
                        version_id, manifest, aliases=aliases, tags=tags
                    )
                except BlobNotFoundError:
                    # The store's GC took a blob nothing used between our question and the
                    # commit (see cairn.core.gc): asking again sends it again, once.
                    if attempt == 2:
                        raise
        except BaseException:
            with contextlib.suppress(CairnError):
                backend.abort_version(version_id)
            if self._record is None:  # nothing committed: the draft can be fixed and logged again
                self._final = False
            raise
        self._bind(record, backend, settings)
        self._cleanup_staging()

    def _log(
        self,
        run: Run,
        aliases: Sequence[str] | None,
        tags: Sequence[str] | None,
        *,
        background: bool = False,
    ) -> None:
        """Commit this draft as a version in the run's project (see DESIGN.md).

        With ``background``, uploading and committing run in the run's worker thread and this
        returns at once; ``wait()`` (or any attribute of the logged version) blocks until done.
        """
        if self._logging is not None:
            self.wait()  # logged again while the first log runs: that version is the answer
        if self._record is not None:
            self._loaded_manifest()  # a fetched version: its manifest is what is logged again
        version_id, all_aliases, all_tags = self._prepare_log(run, aliases, tags)
        if background:
            self._logging = run._submit(
                self._upload_and_commit, run, version_id, all_aliases, all_tags
            )
        else:
            self._upload_and_commit(run, version_id, all_aliases, all_tags)

    def _upsert(
        self, run: Run, distributed_id: str, aliases: Sequence[str] | None, *, finish: bool
    ) -> None:
        """Add this draft's entries to the version shared by ``distributed_id``; maybe commit."""
        version_id, all_aliases, all_tags = self._prepare_log(run, aliases, None, distributed_id)
        backend, settings = run._backend, run._settings
        manifest = self._manifest
        assert manifest is not None
        try:
            transfer.upload_missing(
                manifest, backend, context.cache_for(settings), self._staged, silent=settings.silent
            )
            if len(manifest):
                backend.add_entries(version_id, manifest)
            if not finish:
                self._pending_id = version_id
                return
            record = backend.commit_version(version_id, None, aliases=all_aliases, tags=all_tags)
            if self._description is not None or self._metadata:
                merged = {**record.metadata, **naming.clean_metadata(self._metadata)}
                record = backend.update_version(
                    record.id, VersionUpdate(description=self._description, metadata=merged)
                )
        except BaseException:
            self._final = False
            raise
        finally:
            self._cleanup_staging()
        self._bind(record, backend, settings)

    def _cleanup_staging(self) -> None:
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None
        self._staged.clear()

    def wait(self, timeout: int | None = None) -> Artifact:
        """Block until a background log has committed; re-raise its error if it failed.

        Raises TimeoutError if ``timeout`` seconds pass first, and ArtifactNotLoggedError on a
        draft that was never logged (there is nothing to wait for, as in W&B).
        """
        logging = self._logging
        if logging is None and self._record is None:
            raise ArtifactNotLoggedError("wait")
        if logging is not None:
            try:
                logging.result(timeout=timeout)
            except FutureTimeout:
                raise TimeoutError(
                    f"artifact {self._name} is still being logged after {timeout} s"
                ) from None
            except BaseException:
                self._log_error_reported = True  # the caller has it; run.finish() won't re-raise
                raise
            finally:
                if logging.done():
                    self._logging = None
        return self

    def save(self, project: str | None = None, settings: Any = None) -> None:
        """Log a draft (in the current run, or an automatic run), or persist edits of a version."""
        if self._record is None:
            from cairn.sdk import run as run_mod

            current = run_mod.current_run()
            if current is not None:
                current.log_artifact(self)
                return
            with run_mod.init(project=project, job_type="auto") as auto:
                auto.log_artifact(self)
            return
        assert self._backend is not None
        aliases = tuple(naming.clean_aliases(self._aliases))
        record = self._record
        # `latest` is sent only when it was added or removed, as the spec's example does.
        had_latest, has_latest = "latest" in record.aliases, "latest" in self._aliases
        change = VersionUpdate(
            description=self._description,
            clear_description=self._description is None,
            metadata=naming.clean_metadata(self._metadata),
            aliases=None if record.is_link else aliases,
            tags=tuple(naming.clean_tags(self._tags)),
            ttl_seconds=self._ttl_wire() if self._ttl_changed else None,
            latest=None if record.is_link or has_latest == had_latest else has_latest,
        )
        # A linked artifact's aliases are its portfolio's and the rest is the source's: the
        # source is written only if that changed (a registry member may not write it).
        if not record.is_link or (
            (change.description, change.metadata, change.tags)
            != (record.description, record.metadata, record.tags)
        ):
            record = self._backend.update_version(record.id, change)
        if self._record.link_id is not None:
            record = self._backend.set_link_aliases(self._record.link_id, aliases)
        assert self._settings is not None
        manifest = self._manifest
        self._bind(record, self._backend, self._settings)
        self._manifest = manifest

    def delete(self, delete_aliases: bool = False, *, delete_links: bool = False) -> None:
        """Delete this version; on a linked artifact, only the link (the source stays).

        Raises AliasInUseError while custom aliases point at it (unless ``delete_aliases``),
        and VersionLinkedError, naming the portfolios, while it is linked (unless
        ``delete_links``, which removes those memberships too).
        """
        record = self._ensure_logged("delete")
        assert self._backend is not None
        if record.link_id is not None:
            self._backend.unlink_version(record.link_id)
        else:
            self._backend.delete_version(
                record.id, delete_aliases=delete_aliases, delete_links=delete_links
            )
        from dataclasses import replace

        self._record = replace(record, state=DELETED, aliases=())
        self._aliases = []

    def new_draft(self) -> Artifact:
        """A draft with this version's files, description and metadata, for the next version."""
        self._ensure_logged("new_draft")
        draft = Artifact(
            self._name, self._type, description=self._description, metadata=dict(self._metadata)
        )
        draft._add_entries(list(self._loaded_manifest()), overwrite=False)
        return draft

    def link(self, target_path: str, aliases: Sequence[str] | None = None) -> Artifact:
        """Link this version into a portfolio or registry and return it as linked there.

        ``target_path``: ``portfolio``, ``project/portfolio``, ``entity/project/portfolio``,
        ``[entity/]model-registry/name`` or ``[entity/]wandb-registry-NAME/collection``; a
        missing entity or project is this version's. Linking a linked artifact links its
        source. A version already in the portfolio keeps its one membership; ``aliases``
        (the portfolio's) are applied either way.

        Raises ArtifactNotLoggedError (a draft), ValidationError (a bad path or alias),
        ConflictError (the target is a sequence), TypeConflictError (the portfolio holds
        another type), PermissionDeniedError (no write access to the target).
        """
        record = self._ensure_logged("link")
        assert self._backend is not None and self._settings is not None
        target = linking.parse_target(target_path, self.source_entity, self.source_project)
        linked = self._backend.link_version(
            record.id,
            target.entity,
            target.project,
            target.portfolio,
            naming.clean_aliases(aliases),
        )
        return Artifact._from_record(linked, self._backend, self._settings)

    def unlink(self) -> None:
        """Remove this membership from its portfolio (the source version stays).

        Raises ArtifactNotLoggedError (a draft) and ValidationError, a ValueError, when this
        artifact is not linked (use ``delete()`` for a logged version).
        """
        record = self._ensure_logged("unlink")
        if record.link_id is None:
            raise ValidationError(
                f"artifact {self.qualified_name!r} is not a linked artifact and cannot be "
                "unlinked; to delete it, use delete()"
            )
        assert self._backend is not None
        self._backend.unlink_version(record.link_id)
        from dataclasses import replace

        self._record = replace(record, state=DELETED, aliases=())
        self._aliases = []

    @property
    def linked_artifacts(self) -> list[Artifact]:
        """This version as each portfolio it is linked into holds it (empty for a link)."""
        record = self._ensure_logged("linked_artifacts")
        if record.is_link:
            return []
        assert self._backend is not None and self._settings is not None
        return [
            Artifact._from_record(r, self._backend, self._settings)
            for r in self._backend.version_links(record.id)
        ]

    @property
    def source_artifact(self) -> Artifact:
        """The logged version a linked artifact stands for (itself when not a link)."""
        record = self._ensure_logged("source_artifact")
        if not record.is_link:
            return self
        assert self._backend is not None and self._settings is not None
        assert record.source_entity and record.source_project and record.source_collection
        source = self._backend.resolve(
            record.source_entity,
            record.source_project,
            record.source_collection,
            f"v{record.source_index}",
        )
        return Artifact._from_record(source, self._backend, self._settings)

    def logged_by(self) -> Run | None:
        record = self._ensure_logged("logged_by")
        assert self._backend is not None and self._settings is not None
        from cairn.sdk.run import Run

        producer = self._backend.version_producer(record.id)
        return Run._from_record(producer, self._backend, self._settings) if producer else None

    def used_by(self) -> list[Run]:
        record = self._ensure_logged("used_by")
        assert self._backend is not None and self._settings is not None
        from cairn.sdk.run import Run

        return [
            Run._from_record(r, self._backend, self._settings)
            for r in self._backend.version_consumers(record.id)
        ]

    def lineage(self, direction: str = "both", depth: int = 10) -> LineageGraph:
        """The runs and versions this version came from (``"upstream"``), became
        (``"downstream"``) or both, up to ``depth`` edges away (1 to 1000): a
        :class:`~cairn.sdk.lineage.LineageGraph`. Raises :class:`ValueError` for another
        direction or depth."""
        record = self._ensure_logged("lineage")
        assert self._backend is not None
        graph = self._backend.version_lineage(record.id, direction=direction, depth=depth)
        return LineageGraph._from_record(graph)

    def history(self, per_page: int = 100) -> list[HistoryEvent]:
        """Every recorded change to this version, oldest first: alias moves (``latest``
        too), tag, description and metadata edits — who, when, before and after."""
        record = self._ensure_logged("history")
        assert self._backend is not None
        events: list[HistoryEvent] = []
        after: int | None = None
        while True:
            page, after = self._backend.version_history(record.id, after=after, limit=per_page)
            events += page
            if after is None:
                return events

    def json_encode(self) -> dict[str, Any]:
        record = self._ensure_logged("json_encode")
        return {
            "_type": "artifactVersion",
            "_version": "v0",
            "id": record.id,
            "version": record.version,
            "sequenceName": record.collection,
            "usedAs": self._use_as,
        }

    # -- reading files ---------------------------------------------------------------------------
    def _default_root(self, include_version: bool = True) -> Path:
        """``<artifact_dir>/<collection>:vN`` (``-`` for ``:`` on Windows), absolute; without
        the version for ``checkout()``, whose one working copy follows the collection."""
        settings = self._settings or self._local_settings()
        name = self.name if include_version else self._name
        if os.name == "nt":
            name = name.replace(":", "-")
        return (settings.artifact_dir / name).absolute()

    def _download_entries(
        self,
        paths: Sequence[str],
        *,
        root: str | os.PathLike[str] | None,
        skip_cache: bool | None,
        allow_missing_references: bool = False,
    ) -> dict[str, str]:
        record = self._ensure_logged("download")
        assert self._backend is not None and self._settings is not None
        # Absolute, as W&B returns them: a later chdir cannot make the answer point elsewhere.
        target = Path(root).absolute() if root is not None else self._default_root()
        return transfer.download(
            self._loaded_manifest(),
            paths,
            target,
            backend=self._backend,
            cache=context.cache_for(self._settings),
            settings=self._settings,
            skip_cache=bool(skip_cache),
            allow_missing_references=allow_missing_references,
            artifact=f"{record.entity}/{record.project}/{record.collection}:{record.version}",
        )

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | os.PathLike[str] | None = None,
    ) -> str:
        """Download the files (under ``path_prefix``, if given) into ``root``; returns the
        absolute path of root (default ``<artifact_dir>/<collection>:vN``)."""
        self._ensure_logged("download")
        target = Path(root).absolute() if root is not None else self._default_root()
        manifest = self._loaded_manifest()
        prefix = os.fspath(path_prefix) if path_prefix is not None else ""
        paths = [p for p in manifest.entries if p.startswith(prefix)]
        self._download_entries(
            paths,
            root=target,
            skip_cache=skip_cache,
            allow_missing_references=allow_missing_references,
        )
        return str(target)

    def checkout(self, root: str | None = None) -> str:
        """Make ``root`` hold exactly this artifact's files (others are deleted); returns its
        absolute path (default ``<artifact_dir>/<collection>``: one working copy)."""
        self._ensure_logged("checkout")
        target = Path(root).absolute() if root is not None else self._default_root(False)
        self.download(root=target)
        transfer.remove_extra(self._loaded_manifest(), target)
        return str(target)

    def verify(self, root: str | None = None) -> None:
        """Raise ValueError naming every file under ``root`` that differs from the manifest."""
        self._ensure_logged("verify")
        assert self._settings is not None
        target = Path(root) if root is not None else self._default_root()
        transfer.verify(
            self._loaded_manifest(),
            target,
            context.cache_for(self._settings),
            self._settings.hash_workers,
        )

    def file(self, root: str | None = None) -> str:
        """Download a single-file artifact; returns the file's absolute path."""
        record = self._ensure_logged("file")
        if record.file_count != 1:
            raise ValidationError(
                f"file() needs an artifact with exactly one file; {self.name} has "
                f"{record.file_count}"
            )
        (path,) = self._loaded_manifest().entries
        return self._download_entries([path], root=root, skip_cache=None)[path]

    def files(self, names: list[str] | None = None, per_page: int = 50) -> ArtifactFiles:
        """Iterate over the version's files, fetched a page at a time."""
        self._ensure_logged("files")
        from cairn.sdk.files import ArtifactFiles

        return ArtifactFiles(self, names=names, per_page=per_page)

    # -- representation ----------------------------------------------------------------------
    def __repr__(self) -> str:
        if self._record is None:
            return f"<Artifact {self._name} (draft, type={self._type})>"
        return f"<Artifact {self.qualified_name} (type={self._type})>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Artifact):
            return NotImplemented
        if self._record is not None and other._record is not None:
            return self._record.id == other._record.id
        return self is other

    def __hash__(self) -> int:
        return hash(self._record.id) if self._record is not None else id(self)


__all__ = ["COMMITTED", "Artifact"]

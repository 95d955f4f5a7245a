"""The Artifact: a draft you add files to, and, once logged, an immutable version.

A draft keeps its manifest in memory. This module holds its state and attributes; what it does
is in modules named for it, whose functions are bound here as its methods:

- :mod:`cairn.sdk.artifact_adding`: ``add_file``, ``add_dir``, ``add_reference``, ``add``,
  ``new_file``, ``remove`` (each file hashed once and, under ``policy="mutable"``, snapshotted
  on that same read);
- :mod:`cairn.sdk.artifact_saving`: logging (the commit protocol through the run's backend),
  ``save``, ``delete``, ``link``, lineage and history;
- :mod:`cairn.sdk.artifact_download`: ``get_entry``, ``get``, ``download``, ``checkout``,
  ``verify``, ``files``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn import naming
from cairn.backend.base import Backend
from cairn.config import Settings
from cairn.errors import (
    ArtifactFinalizedError,
    ArtifactNotLoggedError,
    ValidationError,
)
from cairn.manifest import Manifest
from cairn.records import (
    COMMITTED,
    PENDING,
    TTL_INHERIT,
    TTL_NEVER,
    VersionRecord,
)
from cairn.sdk import artifact_adding as _adding
from cairn.sdk import artifact_download as _reading
from cairn.sdk import artifact_saving as _saving
from cairn.sdk import context
from cairn.sdk.artifact_adding import ARTIFACT_URI_SCHEMES, Policy
from cairn.sdk.artifact_ttl import ArtifactTTL

if TYPE_CHECKING:
    from cairn.sdk.api import ArtifactCollection


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

    # -- adding: cairn.sdk.artifact_adding -----------------------------------------------------
    _dir_conflict = _adding._dir_conflict
    _staging_dir = _adding._staging_dir
    add = _adding.add
    __setitem__ = _adding.setitem
    remove = _adding.remove
    get_added_local_path_name = _adding.get_added_local_path_name
    _add_entries = _adding._add_entries
    _hash_local = _adding._hash_local
    add_file = _adding.add_file
    add_dir = _adding.add_dir
    new_file = _adding.new_file
    add_reference = _adding.add_reference
    _entry_reference = _adding._entry_reference

    # -- download: cairn.sdk.artifact_download -------------------------------------------------
    get = _reading.get
    __getitem__ = _reading.getitem
    get_entry = _reading.get_entry
    get_path = _reading.get_path
    _default_root = _reading._default_root
    checkout = _reading.checkout
    verify = _reading.verify
    file = _reading.file
    files = _reading.files
    _download_entries = _reading._download_entries
    download = _reading.download

    # -- saving: cairn.sdk.artifact_saving -----------------------------------------------------
    _cleanup_staging = _saving._cleanup_staging
    wait = _saving.wait
    save = _saving.save
    delete = _saving.delete
    new_draft = _saving.new_draft
    link = _saving.link
    unlink = _saving.unlink
    linked_artifacts = property(_saving.linked_artifacts)
    source_artifact = property(_saving.source_artifact)
    logged_by = _saving.logged_by
    used_by = _saving.used_by
    lineage = _saving.lineage
    history = _saving.history
    json_encode = _saving.json_encode
    _prepare_log = _saving._prepare_log
    _upload_and_commit = _saving._upload_and_commit
    _log = _saving._log
    _upsert = _saving._upsert

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


__all__ = ["ARTIFACT_URI_SCHEMES", "COMMITTED", "Artifact", "Policy"]

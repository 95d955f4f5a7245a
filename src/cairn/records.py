"""Frozen value objects that cross the Backend boundary (and, as JSON, the wire).

The core builds them from database rows; the SDK reads them. ``to_wire``/``from_wire`` give the
JSON form the server sends, so both backends hand the SDK identical objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")

# A version's TTL on the wire, W&B's way: seconds, or one of these.
TTL_INHERIT = -1  # the entity's default TTL applies
TTL_NEVER = -2  # never expires, whatever the entity's default

PENDING = "PENDING"
COMMITTED = "COMMITTED"
DELETED = "DELETED"


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


class _Wire:
    _datetimes: tuple[str, ...] = ()
    _tuples: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {k: _encode(v) for k, v in asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def from_wire(cls: type[T], data: dict[str, Any]) -> T:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        kwargs = {k: v for k, v in data.items() if k in names}
        for k in cls._datetimes:  # type: ignore[attr-defined]
            if kwargs.get(k) is not None:
                kwargs[k] = datetime.fromisoformat(kwargs[k])
        for k in cls._tuples:  # type: ignore[attr-defined]
            if kwargs.get(k) is not None:
                kwargs[k] = tuple(kwargs[k])
        return cls(**kwargs)


@dataclass(frozen=True)
class VersionRecord(_Wire):
    """One version of a collection, as the core sees it."""

    id: str
    entity: str
    project: str
    collection: str
    type: str
    index: int | None
    digest: str
    state: str
    description: str | None
    metadata: dict[str, Any]
    aliases: tuple[str, ...]
    tags: tuple[str, ...]
    size: int
    file_count: int
    manifest_digest: str | None
    created_at: datetime
    updated_at: datetime
    created_by_run: str | None = None
    commit_hash: str | None = None
    ttl_seconds: int | None = None  # in effect: the version's own, or its entity's default
    deduplicated: bool = False
    ttl_inherit: bool = True  # the entity's default applies (no TTL of its own)
    # A version seen through a portfolio (entity/project/collection/index above are the
    # portfolio's): the membership, when it was made, and where the version comes from.
    link_id: str | None = None
    linked_at: datetime | None = None
    source_entity: str | None = None
    source_project: str | None = None
    source_collection: str | None = None
    source_index: int | None = None

    _datetimes = ("created_at", "updated_at", "linked_at")
    _tuples = ("aliases", "tags")

    @property
    def version(self) -> str:
        return f"v{self.index}" if self.index is not None else ""

    @property
    def is_link(self) -> bool:
        return self.link_id is not None


@dataclass(frozen=True)
class CollectionRecord(_Wire):
    id: str
    entity: str
    project: str
    name: str
    type: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    version_count: int = 0
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    kind: str = "sequence"  # or "portfolio": its versions are links (cairn.core.links)

    _datetimes = ("created_at", "updated_at")
    _tuples = ("aliases", "tags")


@dataclass(frozen=True)
class RunRecord(_Wire):
    id: str
    entity: str
    project: str
    name: str
    job_type: str | None
    group: str | None
    config: dict[str, Any]
    state: str
    created_at: datetime
    finished_at: datetime | None = None
    tags: tuple[str, ...] = ()
    notes: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    last_step: int | None = None  # the highest history step stored, None before any

    _datetimes = ("created_at", "finished_at")
    _tuples = ("tags",)

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"


@dataclass(frozen=True)
class RunUpdate(_Wire):
    """What a running script sends its run: history rows to append (each with its ``_step``),
    and whatever else changed. ``None`` leaves a field as it is; ``summary`` and ``config``
    replace the stored ones whole."""

    history: tuple[dict[str, Any], ...] = ()
    summary: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    tags: tuple[str, ...] | None = None
    notes: str | None = None
    exit_code: int | None = None
    state: str | None = None  # "running" again when a finished run is resumed

    _tuples = ("history", "tags")


@dataclass(frozen=True)
class TypeRecord(_Wire):
    name: str
    collection_count: int


@dataclass(frozen=True)
class VersionSpec(_Wire):
    """What a client asks for when it starts a version (``begin``)."""

    entity: str
    project: str
    collection: str
    type: str
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    distributed_id: str | None = None
    incremental: bool = False
    ttl_seconds: int = -1  # TTL_INHERIT, TTL_NEVER or a positive number of seconds


@dataclass(frozen=True)
class VersionUpdate(_Wire):
    """Mutable fields of a committed version; ``None`` leaves a field as it is."""

    description: str | None = None
    metadata: dict[str, Any] | None = None
    aliases: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    clear_description: bool = False
    ttl_seconds: int | None = None  # None: unchanged; else as VersionSpec.ttl_seconds
    latest: bool | None = None  # False takes `latest` off the newest version, True puts it back

    _tuples = ("aliases", "tags")


@dataclass(frozen=True)
class StorageReport(_Wire):
    """What one storage reclamation (``cairn gc``) did."""

    condemned: int = 0  # blobs newly found unreferenced (deleted by a run after the grace)
    blobs_deleted: int = 0  # rows removed: blobs no version can reach any more
    objects_deleted: int = 0  # blob objects removed from the store
    packs_rewritten: int = 0  # sparse packs whose live blobs were copied to new packs
    packs_deleted: int = 0  # retired or orphaned pack objects removed from the store
    bytes_freed: int = 0  # bytes of objects and packs removed
    bytes_rewritten: int = 0  # bytes copied into new packs


@dataclass(frozen=True)
class RegistryRecord(_Wire):
    """A registry: an entity's project of portfolios named ``wandb-registry-NAME``."""

    name: str
    entity: str
    project: str
    description: str | None
    created_at: datetime

    _datetimes = ("created_at",)

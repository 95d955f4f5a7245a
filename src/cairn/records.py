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
    temporaries_deleted: int = 0  # files killed writers left in the store's tmp/ (or spools)


@dataclass(frozen=True)
class RegistryRecord(_Wire):
    """A registry: an entity's project of portfolios named ``wandb-registry-NAME``."""

    name: str
    entity: str
    project: str
    description: str | None
    created_at: datetime

    _datetimes = ("created_at",)


# -- lineage, history and diffs ------------------------------------------------------------------


@dataclass(frozen=True)
class LineageNode(_Wire):
    """A run, a version or a portfolio membership (a link) in a lineage graph, ``depth`` edges
    away from the graph's root.

    ``key`` names the node within its graph: ``version:<version id>``,
    ``run:<entity>/<project>/<run id>`` or ``link:<membership id>``. A link's entity, project,
    name, type and index are its portfolio's (it is the portfolio's ``vK``). A node the caller
    may not read is a placeholder: ``hidden`` is true, ``key`` is ``hidden:<n>`` and nothing
    but ``kind`` and ``depth`` is set, so the shape of the graph shows without a name leaking.
    """

    key: str
    kind: str  # "version" | "run" | "link"
    depth: int
    hidden: bool = False
    id: str | None = None  # the version id, the run id (unique in its project), the link id
    entity: str | None = None
    project: str | None = None
    name: str | None = None  # a version's collection or link's portfolio; a run's display name
    type: str | None = None  # a version's (or link's) artifact type; a run's job_type
    index: int | None = None  # a version's index (``v{index}``), a link's in its portfolio

    @property
    def version(self) -> str | None:
        return f"v{self.index}" if self.index is not None else None

    @property
    def path(self) -> str | None:
        """What ``Api().artifact()`` (a version or link) or ``Api().run()`` (a run) takes."""
        if self.hidden:
            return None
        if self.kind in ("version", "link"):
            return f"{self.entity}/{self.project}/{self.name}:{self.version}"
        return f"{self.entity}/{self.project}/{self.id}"


@dataclass(frozen=True)
class LineageEdge(_Wire):
    """Data flows from ``source`` to ``target`` (node keys): a run ``logged`` a version, a
    version (or a link) was ``used`` by a run, or a version was ``linked`` into a portfolio."""

    source: str
    target: str
    kind: str


@dataclass(frozen=True)
class LineageRecord(_Wire):
    """The part of the lineage graph around ``root`` that a walk of ``depth`` edges reached."""

    root: str
    direction: str  # "upstream" | "downstream" | "both"
    depth: int
    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]

    def to_wire(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "direction": self.direction,
            "depth": self.depth,
            "nodes": [n.to_wire() for n in self.nodes],
            "edges": [e.to_wire() for e in self.edges],
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> LineageRecord:
        return cls(
            root=data["root"],
            direction=data["direction"],
            depth=data["depth"],
            nodes=tuple(LineageNode.from_wire(n) for n in data["nodes"]),
            edges=tuple(LineageEdge.from_wire(e) for e in data["edges"]),
        )


@dataclass(frozen=True)
class HistoryEvent(_Wire):
    """One recorded change: who (``actor``) did what (``action``, ``details``) and when.

    ``action`` is one of :data:`cairn.core.history.ACTIONS` (``alias.added``, ``tag.removed``,
    ``metadata.changed``, ``version.deleted``, …); ``details`` holds the before and after.
    """

    id: int
    action: str
    actor: str
    at: datetime
    entity: str
    project: str
    collection: str
    version_id: str | None
    version_index: int | None
    details: dict[str, Any]

    _datetimes = ("at",)

    @property
    def version(self) -> str | None:
        return f"v{self.version_index}" if self.version_index is not None else None


@dataclass(frozen=True)
class ValueChange(_Wire):
    """A metadata key (or a version field such as ``description``) that differs."""

    key: str
    status: str  # "added" | "removed" | "changed"
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class DiffSummary(_Wire):
    """How version ``b`` differs from version ``a``: entry counts, and every value change."""

    a: str
    b: str
    added: int
    removed: int
    changed: int
    unchanged: int
    metadata: tuple[ValueChange, ...] = ()
    fields: tuple[ValueChange, ...] = ()  # description, type, aliases, tags

    def to_wire(self) -> dict[str, Any]:
        data = super().to_wire()
        data["metadata"] = [c.to_wire() for c in self.metadata]
        data["fields"] = [c.to_wire() for c in self.fields]
        return data

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> DiffSummary:
        return cls(
            a=data["a"],
            b=data["b"],
            added=data["added"],
            removed=data["removed"],
            changed=data["changed"],
            unchanged=data["unchanged"],
            metadata=tuple(ValueChange.from_wire(c) for c in data["metadata"]),
            fields=tuple(ValueChange.from_wire(c) for c in data["fields"]),
        )


@dataclass(frozen=True)
class DiffEntry(_Wire):
    """A path whose entry was added, removed or changed between two versions."""

    path: str
    status: str  # "added" | "removed" | "changed"
    old_digest: str | None = None
    old_size: int | None = None
    new_digest: str | None = None
    new_size: int | None = None

"""The public query API: ``cairn.Api()`` — find versions, collections, types and runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from cairn import naming
from cairn.backend.base import Backend
from cairn.config import Settings
from cairn.errors import ArtifactNotFoundError, CollectionNotFoundError, ValidationError
from cairn.naming import ArtifactPath
from cairn.records import CollectionRecord, HistoryEvent
from cairn.sdk import context
from cairn.sdk.artifact import Artifact
from cairn.sdk.fields import record_field
from cairn.sdk.run import Run
from cairn.sdk.run_query import Runs

if TYPE_CHECKING:
    from cairn.sdk.registries import Registry


def resolve_path(
    backend: Backend, settings: Settings, path: str, *, default_entity: str, default_project: str
) -> Artifact:
    """Resolve ``[[entity/]project/]name[:alias]`` to a logged artifact."""
    p = ArtifactPath.parse(path)
    record = backend.resolve(
        p.entity or default_entity, p.project or default_project, p.name, p.alias
    )
    return Artifact._from_record(record, backend, settings)


class ArtifactCollection:
    """A named collection in a project: a sequence of logged versions (``bike-dataset``), or a
    portfolio of versions linked from sequences."""

    def __init__(self, record: CollectionRecord, backend: Backend, settings: Settings) -> None:
        self._record = record
        self._backend = backend
        self._settings = settings
        self._description = record.description
        self._tags = list(record.tags)

    @classmethod
    def _load(
        cls, backend: Backend, settings: Settings, entity: str, project: str, name: str
    ) -> ArtifactCollection:
        return cls(backend.get_collection(entity, project, name), backend, settings)

    name: record_field[str] = record_field()
    type: record_field[str] = record_field()
    entity: record_field[str] = record_field()
    project: record_field[str] = record_field()
    id: record_field[str] = record_field()

    @property
    def created_at(self) -> str:
        """When the collection was created, as an ISO-8601 UTC string (as W&B)."""
        return self._record.created_at.isoformat()

    @property
    def updated_at(self) -> str:
        """When the collection last changed, as an ISO-8601 UTC string."""
        return self._record.updated_at.isoformat()

    @property
    def aliases(self) -> list[str]:
        return list(self._record.aliases)

    @property
    def description(self) -> str | None:
        """Free markdown; assign, then ``save()``."""
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = naming.check_description(value)

    @property
    def tags(self) -> list[str]:
        """The collection's tags; assign a list, then ``save()``."""
        return self._tags

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self._tags = naming.clean_tags(value)

    def is_sequence(self) -> bool:
        """True for a collection of logged versions, False for a portfolio of links."""
        return self._record.kind == "sequence"

    def save(self) -> None:
        """Store the description and tags.

        Raises CollectionNotFoundError (gone, or not readable), PermissionDeniedError.
        """
        self._record = self._backend.update_collection(
            self.entity,
            self.project,
            self.name,
            description=self._description or "",
            tags=naming.clean_tags(self._tags),
        )

    def delete(self) -> None:
        """Delete the collection: a portfolio loses its links (sources stay); a sequence loses
        its versions.

        Raises VersionLinkedError while versions of a sequence are linked into portfolios,
        PermissionDeniedError, CollectionNotFoundError.
        """
        self._backend.delete_collection(self.entity, self.project, self.name)

    def artifacts(self, per_page: int = 50) -> Iterator[Artifact]:
        """Every version, oldest first, fetched ``per_page`` at a time."""
        after: int | None = None
        while True:
            records, after = self._backend.list_versions(
                self.entity, self.project, self.name, after_index=after, limit=per_page
            )
            for r in records:
                yield Artifact._from_record(r, self._backend, self._settings)
            if after is None:
                return

    versions = artifacts

    def history(self, per_page: int = 100) -> list[HistoryEvent]:
        """Every recorded change to this collection's versions, deleted ones included, oldest
        first: alias moves, tag, description and metadata edits, deletions."""
        events: list[HistoryEvent] = []
        after: int | None = None
        while True:
            page, after = self._backend.collection_history(
                self.entity, self.project, self.name, after=after, limit=per_page
            )
            events += page
            if after is None:
                return events

    def __len__(self) -> int:
        return self._record.version_count

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.entity}/{self.project}/{self.name} ({self.type})>"


class ArtifactType:
    def __init__(self, name: str, api: Api, project: str) -> None:
        self.name = name
        self._api = api
        self._project = project

    def collections(self) -> list[ArtifactCollection]:
        return self._api.artifact_collections(self._project, self.name)

    def __repr__(self) -> str:
        return f"<ArtifactType {self.name}>"


class Api:
    """Query logged artifacts and runs outside a run.

    ``overrides`` may set ``entity`` and ``project`` (the defaults for short paths), and any
    :class:`~cairn.config.Settings` field such as ``base_url`` or ``api_key``.
    """

    def __init__(
        self,
        overrides: dict[str, Any] | None = None,
        timeout: int | None = None,
        api_key: str | None = None,
    ) -> None:
        overrides = dict(overrides or {})
        if api_key is not None:
            overrides["api_key"] = api_key
        self.settings = context.settings(**overrides)
        self._backend = context.backend_for(self.settings)

    @property
    def default_entity(self) -> str:
        return self.settings.entity or self._backend.default_entity()

    @property
    def default_project(self) -> str:
        return self.settings.project or naming.DEFAULT_PROJECT

    def _split(self, project: str | None) -> tuple[str, str]:
        """``project`` may be ``name`` or ``entity/name``."""
        if project is None:
            return self.default_entity, self.default_project
        parts = project.split("/")
        if len(parts) == 2:
            return naming.check_name(parts[0], "entity name"), naming.check_name(
                parts[1], "project name"
            )
        if len(parts) == 1:
            return self.default_entity, naming.check_name(project, "project name")
        raise ValidationError(f"project {project!r}: use 'project' or 'entity/project'")

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """A version by ``[[entity/]project/]name[:alias]`` (alias defaults to ``latest``)."""
        art = resolve_path(
            self._backend,
            self.settings,
            name,
            default_entity=self.default_entity,
            default_project=self.default_project,
        )
        if type is not None and art.type != type:
            raise ArtifactNotFoundError(f"artifact {name!r} has type {art.type!r}, not {type!r}")
        return art

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        try:
            self.artifact(name, type=type)
        except (ArtifactNotFoundError, CollectionNotFoundError):
            return False
        return True

    def _collection_path(self, name: str) -> tuple[str, str, str]:
        p = ArtifactPath.parse(name)
        return (p.entity or self.default_entity, p.project or self.default_project, p.name)

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        entity, project, coll = self._collection_path(name)
        c = ArtifactCollection._load(self._backend, self.settings, entity, project, coll)
        if c.type != type_name:
            raise CollectionNotFoundError(f"no {type_name!r} artifact named {name!r}")
        return c

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        try:
            self.artifact_collection(type, name)
        except CollectionNotFoundError:
            return False
        return True

    def artifact_collections(
        self, project_name: str | None = None, type_name: str | None = None, per_page: int = 50
    ) -> list[ArtifactCollection]:
        entity, project = self._split(project_name)
        return [
            ArtifactCollection(r, self._backend, self.settings)
            for r in self._backend.list_collections(entity, project, type_name)
        ]

    def artifacts(
        self, type_name: str, name: str, per_page: int = 50, tags: list[str] | None = None
    ) -> list[Artifact]:
        """Every version of the collection ``name`` (``[[entity/]project/]name``)."""
        collection = self.artifact_collection(type_name, name)
        if tags:
            out: list[Artifact] = []
            after: int | None = None
            while True:
                recs, after = self._backend.list_versions(
                    collection.entity,
                    collection.project,
                    collection.name,
                    after_index=after,
                    limit=per_page,
                    tags=tags,
                )
                out.extend(Artifact._from_record(r, self._backend, self.settings) for r in recs)
                if after is None:
                    return out
        return list(collection.artifacts(per_page=per_page))

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50) -> list[Artifact]:
        """Deprecated spelling of :meth:`artifacts`."""
        return self.artifacts(type_name, name, per_page=per_page)

    def registries(
        self, organization: str | None = None, filter: dict[str, Any] | None = None
    ) -> list[Registry]:
        """The registries the caller may see (of one entity/organisation, or all).

        ``filter`` takes ``{"name": NAME}`` (W&B's filters on other fields are not supported).
        """
        from cairn.sdk.registries import Registry

        records = self._backend.list_registries(organization)
        wanted = (filter or {}).get("name")
        return [
            Registry(r, self._backend, self.settings)
            for r in records
            if wanted is None or r.name == wanted
        ]

    def registry(self, name: str, organization: str | None = None) -> Registry:
        """One registry by name (without the ``wandb-registry-`` prefix).

        Raises CollectionNotFoundError when the caller sees no registry of that name.
        """
        found = self.registries(organization, filter={"name": name})
        if organization is None:
            own = [r for r in found if r.entity == self.default_entity]
            found = own or found
        if not found:
            raise CollectionNotFoundError(f"no registry named {name!r}")
        return found[0]

    def artifact_types(self, project: str | None = None) -> list[ArtifactType]:
        entity, proj = self._split(project)
        return [
            ArtifactType(t.name, self, f"{entity}/{proj}")
            for t in self._backend.list_types(entity, proj)
        ]

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        for t in self.artifact_types(project):
            if t.name == type_name:
                return t
        raise CollectionNotFoundError(f"no artifacts of type {type_name!r} in this project")

    def run(self, path: str) -> Run:
        """A run by ``entity/project/run_id`` (or ``project/run_id``, or ``run_id``; W&B's
        ``entity/project/runs/run_id`` too)."""
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[2] == "runs":
            del parts[2]
        if len(parts) > 3 or not all(parts):
            raise ValidationError(f"run path {path!r}: use 'entity/project/run_id'")
        run_id = parts[-1]
        project = parts[-2] if len(parts) >= 2 else self.default_project
        entity = parts[-3] if len(parts) == 3 else self.default_entity
        record = self._backend.get_run(entity, project, run_id)
        return Run._from_record(record, self._backend, self.settings)

    def runs(
        self,
        path: str | None = None,
        filters: dict[str, Any] | None = None,
        order: str = "-created_at",
        per_page: int = 50,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> Runs:
        """Runs of the project ``path`` (``entity/project`` or ``project``) passing W&B-style
        ``filters``, e.g. ``{"config.lr": 0.1}``, ``{"state": "finished"}``,
        ``{"tags": {"$in": ["a"]}}``, ``{"summary_metrics.acc": {"$gt": 0.9}}``, ``$and``/``$or``.
        """
        entity, project = self._split(path)
        return Runs(
            self._backend,
            self.settings,
            entity,
            project,
            filters=filters,
            order=order,
            per_page=per_page,
        )

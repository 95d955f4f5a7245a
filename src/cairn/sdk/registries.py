"""``Registry``: W&B 0.31's registry object, over Cairn's registries (cairn.core.registries)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from cairn.backend.base import Backend
from cairn.config import Settings
from cairn.records import RegistryRecord
from cairn.sdk.api import ArtifactCollection
from cairn.sdk.artifact import Artifact
from cairn.sdk.fields import record_field


class Registry:
    """A registry of an entity: portfolios (its collections) of promoted versions."""

    def __init__(self, record: RegistryRecord, backend: Backend, settings: Settings) -> None:
        self._record = record
        self._backend = backend
        self._settings = settings

    name: record_field[str] = record_field()
    entity: record_field[str] = record_field()
    description: record_field[str | None] = record_field()
    created_at: record_field[datetime] = record_field()

    @property
    def organization(self) -> str:
        """W&B's organisation: here, the entity that owns the registry."""
        return self._record.entity

    @property
    def full_name(self) -> str:
        """The registry's project name, ``wandb-registry-NAME``."""
        return self._record.project

    @property
    def path(self) -> list[str]:
        return [self._record.entity, self._record.project]

    def collections(self, type_name: str | None = None) -> list[ArtifactCollection]:
        """The registry's portfolios (of one artifact type, or all)."""
        records = self._backend.list_collections(self.entity, self.full_name, type_name)
        return [ArtifactCollection(r, self._backend, self._settings) for r in records]

    def versions(self) -> Iterator[Artifact]:
        """Every linked version in every collection of the registry."""
        for collection in self.collections():
            yield from collection.artifacts()

    def __repr__(self) -> str:
        return f"<Registry {self.entity}/{self.name}>"

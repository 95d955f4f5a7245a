"""Changing committed versions and collections: metadata, aliases, tags, deletion, portfolio
links, registries and TTL (the rules of the last ones are :mod:`cairn.core.links`,
:mod:`cairn.core.registries` and :mod:`cairn.core.ttl`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from cairn import naming
from cairn.core import (
    deletion,
    history,
    registries,
)
from cairn.core import latest as latest_alias
from cairn.core import links as _links
from cairn.core import ttl as _ttl
from cairn.core.db import models as m
from cairn.core.services.scope import Scope
from cairn.errors import (
    AliasInUseError,
    VersionLinkedError,
)
from cairn.records import (
    CollectionRecord,
    RegistryRecord,
    VersionRecord,
    VersionUpdate,
)


class Curation(Scope):
    """Changing what is committed: fields, aliases, tags, deletion, links, collections, TTL."""

    def update_version(self, version_id: str, change: VersionUpdate) -> VersionRecord:
        """Persist description, metadata, aliases (the full custom set), tags, and whether
        ``latest`` stays on the version (see :mod:`cairn.core.latest`)."""
        description = naming.check_description(change.description)
        metadata = naming.clean_metadata(change.metadata) if change.metadata is not None else None
        aliases = naming.clean_aliases(change.aliases) if change.aliases is not None else None
        tags = naming.clean_tags(change.tags) if change.tags is not None else None
        with self.db.write() as s:
            ver = self._visible_version(s, version_id)
            self._check(s, self._project_of(s, ver), "write", "this artifact")
            if change.ttl_seconds is not None:
                _ttl.set_ttl(ver, change.ttl_seconds, s, self.principal)
            if description is not None or change.clear_description:
                ver.description = description
            if metadata is not None:
                ver.metadata_ = metadata
            history.fields_changed(s, self.principal, ver)
            if aliases is not None:
                history.aliases_removed(s, self.principal, ver, keep=aliases)
                s.execute(
                    delete(m.Alias).where(
                        m.Alias.version_id == ver.id,
                        m.Alias.alias.not_in(aliases),
                        latest_alias.user_aliases(),
                    )
                )
                current = set(s.scalars(select(m.Alias.alias).where(m.Alias.version_id == ver.id)))
                self._move_aliases(
                    s, ver.collection_id, ver.id, [a for a in aliases if a not in current]
                )
            if tags is not None:
                before = s.scalars(select(m.Tag.tag).where(m.Tag.version_id == ver.id)).all()
                s.execute(delete(m.Tag).where(m.Tag.version_id == ver.id))
                s.flush()
                self._add_tags(s, ver.id, tags, before=before)
            if change.latest is not None:
                latest_alias.set_on(s, ver, change.latest)
            ver.updated_at = m.utcnow()
            s.flush()
            return self._version_record(s, ver)

    def delete_version(
        self, version_id: str, *, delete_aliases: bool = False, delete_links: bool = False
    ) -> None:
        """Soft-delete a version: it disappears, its index is never reused, GC frees its blobs.

        Raises:
            AliasInUseError: custom aliases point at it (unless ``delete_aliases``).
            VersionLinkedError: it is linked into portfolios (unless ``delete_links``, which
                removes those memberships too).
        """
        with self.db.write() as s:
            ver = self._visible_version(s, version_id)
            self._check(s, self._project_of(s, ver), "write", "this artifact")
            linked = _links.link_names(s, ver.id)
            if linked and not delete_links:
                raise VersionLinkedError(
                    f"version is linked into {', '.join(linked)}; unlink it first or pass "
                    "delete_links=True",
                    details={"links": linked},
                )
            custom = s.scalars(
                select(m.Alias.alias).where(
                    m.Alias.version_id == ver.id, latest_alias.user_aliases()
                )
            ).all()
            if custom and not delete_aliases:
                raise AliasInUseError(
                    f"version has aliases {sorted(custom)}; remove them first or pass "
                    "delete_aliases=True",
                    details={"aliases": sorted(custom)},
                )
            history.version_deleted(s, self.principal, ver)
            deletion.retire(s, ver)

    # -- portfolios, registries, collections and TTL (rules in cairn.core.links/registries/ttl) --
    def link_version(
        self, version_id: str, entity: str, project: str, portfolio: str, aliases: Sequence[str]
    ) -> VersionRecord:
        return _links.link_version(
            self._as_service(), version_id, entity, project, portfolio, aliases
        )

    def unlink_version(self, link_id: str) -> None:
        _links.unlink(self._as_service(), link_id)

    def set_link_aliases(self, link_id: str, aliases: Sequence[str]) -> VersionRecord:
        return _links.set_link_aliases(self._as_service(), link_id, aliases)

    def version_links(self, version_id: str) -> list[VersionRecord]:
        return _links.links_of(self._as_service(), version_id)

    def update_collection(
        self,
        entity: str,
        project: str,
        name: str,
        *,
        description: str | None,
        tags: Sequence[str] | None,
    ) -> CollectionRecord:
        return _links.update_collection(
            self._as_service(), entity, project, name, description, tags
        )

    def delete_collection(self, entity: str, project: str, name: str) -> None:
        _links.delete_collection(self._as_service(), entity, project, name)

    def list_registries(self, entity: str | None = None) -> list[RegistryRecord]:
        return registries.list_registries(self._as_service(), entity)

    def expire_versions(self, *, dry_run: bool = False) -> list[VersionRecord]:
        return _ttl.expire(self._as_service(), dry_run=dry_run)

    def set_default_ttl(self, entity: str, seconds: int | None) -> None:
        _ttl.set_default_ttl(self._as_service(), entity, seconds)

    def get_default_ttl(self, entity: str) -> int | None:
        return _ttl.get_default_ttl(self._as_service(), entity)

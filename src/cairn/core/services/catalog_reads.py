"""Reading the catalog: versions by id or alias, manifests, file pages, version pages,
collections and types, as the caller may see them (the queries are :mod:`cairn.core.catalog`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core import (
    catalog,
    permissions,
    registries,
)
from cairn.core import links as _links
from cairn.core.db import models as m
from cairn.core.db.bulk import among
from cairn.core.services.scope import Scope
from cairn.errors import (
    ArtifactNotFoundError,
    CollectionNotFoundError,
    ProjectNotFoundError,
)
from cairn.records import (
    CollectionRecord,
    TypeRecord,
    VersionRecord,
)


class CatalogReads(Scope):
    """Reading committed versions, their manifests and files, collections and types."""

    def get_version(self, version_id: str) -> VersionRecord:
        with self.db.read() as s:
            return self._version_record(s, self._visible_version(s, version_id))

    def resolve(self, entity: str, project: str, collection: str, alias: str) -> VersionRecord:
        """Find a version by ``latest``, ``vN`` or a custom alias (in a portfolio: a link).

        Raises:
            ArtifactNotFoundError: no such version, or one the caller may not read (alike).
        """
        project = registries.canonical_project(project)
        with self.db.read() as s:
            found = catalog.find_version(s, entity, project, collection, alias)
            if found is not None and permissions.allowed_in(
                self.principal, found.entity, found.visibility, "read"
            ):
                return found.record
            # Only a miss pays for telling which part was missing.
            label = f"{entity}/{project}/{collection}:{alias}"
            try:
                proj = self._readable_project(s, entity, project)
            except (ProjectNotFoundError, PermissionError):
                raise ArtifactNotFoundError(f"artifact {label} not found") from None
            coll = self._collection(s, proj, collection)
            if coll is None:
                raise ArtifactNotFoundError(
                    f"artifact {label} not found: no artifact named {collection!r} in "
                    f"{entity}/{project}"
                )
            if coll.kind == _links.PORTFOLIO:  # its versions are links, not rows of its own
                link = _links.resolve(s, coll, alias)
                if link is None:
                    raise ArtifactNotFoundError(f"artifact {label} not found")
                return _links.membership_record(self._as_service(), s, link)
            raise ArtifactNotFoundError(f"artifact {label} not found")

    def get_manifest(self, version_id: str) -> tuple[str, bytes]:
        """(manifest digest, manifest JSON bytes) of a committed version."""
        with self.db.read() as s:
            ver = self._visible_version(s, version_id)
            digest = ver.manifest_digest or ""
        return digest, self.manifest_bytes_for(digest)

    def list_files(
        self,
        version_id: str,
        *,
        names: Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a version's entries in path order, and the cursor for the next page."""
        limit = max(1, min(int(limit), 10_000))
        with self.db.read() as s:
            ver = self._visible_version(s, version_id)
            q = select(m.VersionFile).where(m.VersionFile.version_id == ver.id)
            if names is not None:
                q = q.where(among(s, m.VersionFile.path, list(names)))
            if after is not None:
                q = q.where(m.VersionFile.path > after)
            rows = s.scalars(q.order_by(m.VersionFile.path).limit(limit + 1)).all()
            page = [
                {
                    "path": r.path,
                    "digest": r.digest,
                    "size": r.size,
                    "ref": r.ref,
                    "birthArtifactID": r.birth_artifact_id,
                    "extra": r.extra or {},
                }
                for r in rows[:limit]
            ]
            cursor = rows[limit - 1].path if len(rows) > limit else None
            return page, cursor

    def list_versions(
        self,
        entity: str,
        project: str,
        collection: str,
        *,
        after_index: int | None = None,
        limit: int = 50,
        tags: Sequence[str] | None = None,
    ) -> tuple[list[VersionRecord], int | None]:
        limit = max(1, min(int(limit), 1000))
        project = registries.canonical_project(project)
        with self.db.read() as s:
            proj = self._readable_project(s, entity, project)
            coll = self._collection(s, proj, collection)
            if coll is None:
                raise CollectionNotFoundError(
                    f"no artifact named {collection!r} in {entity}/{project}"
                )
            if coll.kind == _links.PORTFOLIO:
                return _links.memberships(self._as_service(), s, coll, after_index, limit, tags)
            page = catalog.version_page(
                s, coll.id, after_index=after_index, limit=limit + 1, tags=tags
            )
            nxt = page[limit - 1].index if len(page) > limit else None
            return page[:limit], nxt

    def get_collection(self, entity: str, project: str, name: str) -> CollectionRecord:
        project = registries.canonical_project(project)
        with self.db.read() as s:
            try:
                proj = self._readable_project(s, entity, project)
            except (ProjectNotFoundError, PermissionError):
                raise CollectionNotFoundError(
                    f"no artifact named {name!r} in {entity}/{project}"
                ) from None
            coll = self._collection(s, proj, name)
            rec = self._collection_record(s, coll, entity, project) if coll is not None else None
            if rec is None or not rec.version_count:
                raise CollectionNotFoundError(f"no artifact named {name!r} in {entity}/{project}")
            return rec

    def _collection_record(
        self, s: Session, coll: m.Collection, entity: str, project: str
    ) -> CollectionRecord:
        if coll.kind == _links.PORTFOLIO:
            return _links.portfolio_record(s, coll, entity, project)
        return catalog.collection_records(s, [coll], entity, project)[0]

    def list_collections(
        self,
        entity: str,
        project: str,
        type_name: str | None = None,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[CollectionRecord]:
        """Collections holding a committed version (or, a portfolio, a link), in name order
        (``after``/``limit``: a page)."""
        project = registries.canonical_project(project)
        with self.db.read() as s:
            proj = self._readable_project(s, entity, project)
            colls = catalog.committed_collections(s, proj.id, type_name, after=after, limit=limit)
            seqs = [c for c in colls if c.kind != _links.PORTFOLIO]
            records = dict(
                zip(seqs, catalog.collection_records(s, seqs, entity, project), strict=True)
            )
            return [
                records[c] if c in records else _links.portfolio_record(s, c, entity, project)
                for c in colls
            ]

    def list_types(self, entity: str, project: str) -> list[TypeRecord]:
        counts: dict[str, int] = {}
        for c in self.list_collections(entity, project):
            counts[c.type] = counts.get(c.type, 0) + 1
        return [TypeRecord(name=t, collection_count=n) for t, n in sorted(counts.items())]

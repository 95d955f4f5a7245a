"""Row lookups every part of the core service shares: entities, projects, collections and
versions as the caller may see them, and the permission checks on them; aliases and tags as a
commit or an edit writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cairn import naming
from cairn.core import (
    catalog,
    history,
)
from cairn.core import latest as latest_alias
from cairn.core import links as _links
from cairn.core.commit_checks import CommitLimits
from cairn.core.db import models as m
from cairn.core.storage import Storage
from cairn.errors import (
    ArtifactNotFoundError,
    ConflictError,
    ProjectNotFoundError,
)
from cairn.manifest import Manifest
from cairn.records import (
    COMMITTED,
    PENDING,
    VersionRecord,
)

if TYPE_CHECKING:
    from cairn.core.service import Service


class Scope(Storage):
    """Finding rows and checking the caller's rights: what every part of the service shares."""

    limits: CommitLimits

    def _as_service(self) -> Service:
        """This part as the whole service, for the rule modules that take one (a part is only
        ever used assembled into :class:`~cairn.core.service.Service`)."""
        return cast("Service", self)

    # -- permissions (overridden in spirit by the server's roles) -------------------------------
    def _may(self, s: Session, project: m.Project, action: str) -> bool:
        from cairn.core import permissions

        return permissions.allowed(s, self.principal, project, action)

    def _check(self, s: Session, project: m.Project, action: str, what: str) -> None:
        from cairn.core import permissions

        permissions.require(s, self.principal, project, action, what)

    # -- entities and projects -------------------------------------------------------------
    def _entity(self, s: Session, name: str, *, create: bool) -> m.Entity | None:
        ent = s.scalar(select(m.Entity).where(m.Entity.name == name))
        if ent is None and create:
            from cairn.core import permissions

            permissions.require_create_entity(self.principal, name)
            naming.check_name(name, "entity name")
            ent = m.Entity(name=name, kind="user")
            s.add(ent)
            s.flush()
        return ent

    def _project(self, s: Session, entity: str, project: str, *, create: bool) -> m.Project:
        # Only a superuser makes entities; anyone else is told the project is missing, as for
        # a project the caller may not read (permissions.require), whether the entity exists.
        ent = self._entity(s, entity, create=create and self.principal.is_superuser)
        proj = None
        if ent is not None:
            proj = s.scalar(
                select(m.Project).where(m.Project.entity_id == ent.id, m.Project.name == project)
            )
        if proj is None:
            if not create or ent is None:
                raise ProjectNotFoundError(f"project {entity}/{project} not found")
            from cairn.core import permissions

            permissions.require_create_project(s, self.principal, ent, project)
            naming.check_name(project, "project name")
            proj = m.Project(entity_id=ent.id, name=project)
            s.add(proj)
            s.flush()
        return proj

    def _readable_project(self, s: Session, entity: str, project: str) -> m.Project:
        proj = self._project(s, entity, project, create=False)
        self._check(s, proj, "read", f"project {entity}/{project}")
        return proj

    # -- collections ---------------------------------------------------------------------------
    def _collection(self, s: Session, proj: m.Project, name: str) -> m.Collection | None:
        return s.scalar(
            select(m.Collection).where(
                m.Collection.project_id == proj.id, m.Collection.name == name
            )
        )

    def _writable_version(self, s: Session, version_id: str) -> m.Version:
        """Version ``version_id``, which the caller is about to change.

        Raises:
            ArtifactNotFoundError: no such version, or one in a project the caller may not
                read: the same error and message, so asking cannot tell them apart.
            PermissionDeniedError: the caller may read but not write its project.
        """
        ver = s.scalar(select(m.Version).where(m.Version.public_id == version_id))
        if ver is None or not self._may(s, self._project_of(s, ver), "read"):
            raise ArtifactNotFoundError(f"pending version {version_id} not found")
        self._check(s, self._project_of(s, ver), "write", "this artifact")
        return ver

    def _pending(self, s: Session, version_id: str) -> m.Version:
        ver = self._writable_version(s, version_id)
        if ver.state != PENDING:
            raise ConflictError(f"version {version_id} is {ver.state}, not PENDING")
        return ver

    def _latest(self, s: Session, collection_id: int) -> m.Version | None:
        """The newest committed version (``latest`` itself may be off it: see core/latest.py)."""
        return latest_alias.newest(s, collection_id)

    def _move_aliases(
        self, s: Session, collection_id: int, version_pk: int, aliases: Sequence[str]
    ) -> None:
        if not aliases:
            return
        history.alias_moves(s, self.principal, collection_id, version_pk, aliases)
        s.execute(
            delete(m.Alias).where(
                m.Alias.collection_id == collection_id, m.Alias.alias.in_(list(aliases))
            )
        )
        s.flush()
        for a in aliases:
            s.add(m.Alias(collection_id=collection_id, alias=a, version_id=version_pk))

    def _add_tags(
        self, s: Session, version_pk: int, tags: Sequence[str], before: Sequence[str] | None = None
    ) -> None:
        """Append ``tags`` to the version's; ``before`` is what it had before a replacement."""
        existing = list(
            s.scalars(
                select(m.Tag.tag).where(m.Tag.version_id == version_pk).order_by(m.Tag.position)
            )
        )
        after = existing + [t for t in dict.fromkeys(tags) if t not in existing]
        history.tags_changed(
            s, self.principal, version_pk, existing if before is None else before, after
        )
        pos = len(existing)
        for t in tags:
            if t not in existing:
                s.add(m.Tag(version_id=version_pk, tag=t, position=pos))
                pos += 1

    # -- reading versions --------------------------------------------------------------------
    def _project_of(self, s: Session, ver: m.Version) -> m.Project:
        coll = s.get_one(m.Collection, ver.collection_id)
        return s.get_one(m.Project, coll.project_id)

    def _visible_version(self, s: Session, version_id: str) -> m.Version:
        ver = s.scalar(select(m.Version).where(m.Version.public_id == version_id))
        if (
            ver is None
            or ver.state != COMMITTED
            or not (
                self._may(s, self._project_of(s, ver), "read")
                or _links.readable_through_portfolio(self._as_service(), s, ver)
            )
        ):
            raise ArtifactNotFoundError(f"artifact version {version_id} not found")
        return ver

    def _version_record(self, s: Session, ver: m.Version, *, check: bool = False) -> VersionRecord:
        if check and not self._may(s, self._project_of(s, ver), "read"):
            raise ArtifactNotFoundError(f"artifact version {ver.public_id} not found")
        return catalog.version_records(s, [ver])[0]

    def _load_manifest(self, ver: m.Version) -> Manifest:
        return Manifest.from_bytes(self.manifest_bytes_for(ver.manifest_digest or ""))

    def manifest_bytes_for(self, manifest_digest: str) -> bytes:
        with self.open_blob(manifest_digest) as f:
            data: bytes = f.read()
        return data

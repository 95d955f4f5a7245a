"""Garbage collection as the service offers it: abandoned PENDING versions, and the space of
blobs no version uses (the sweep itself is :mod:`cairn.core.gc`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from cairn.core.access import ROLE_RANK
from cairn.core.db import models as m
from cairn.core.db.bulk import among
from cairn.core.services.scope import Scope
from cairn.errors import (
    PermissionDeniedError,
)
from cairn.records import (
    PENDING,
    StorageReport,
)


class Maintenance(Scope):
    """Garbage collection: abandoned PENDING versions and unused blobs."""

    def reclaim_storage(
        self,
        *,
        grace: timedelta = timedelta(hours=24),
        repack_below: float = 0.5,
        orphans_older_than: timedelta = timedelta(hours=1),
    ) -> StorageReport:
        """Free the space of blobs no version uses and of dead bytes in packs (:mod:`.gc`).

        Blobs are shared by every project, so only a superuser (the embedded store's user, a
        server admin) may do this.

        Raises:
            PermissionDeniedError: the caller is not a superuser.
            ValidationError: a negative grace, or ``repack_below`` outside 0..1.
        """
        if not self.principal.is_superuser:
            raise PermissionDeniedError(
                "reclaiming storage touches every project's blobs: only a server admin may"
            )
        from cairn.core.gc import Reclaimer

        return Reclaimer(self.db, self.blobs, self.packs).run(
            grace=grace, repack_below=repack_below, orphans_older_than=orphans_older_than
        )

    def collect_garbage(self, *, pending_older_than: timedelta = timedelta(hours=24)) -> int:
        """Drop PENDING versions abandoned for longer than ``pending_older_than``.

        Their uploaded blobs stay: reclaiming unreferenced blobs safely while other clients
        may be re-uploading them needs a two-phase sweep that is not built yet.
        """
        cutoff = datetime.now(UTC) - pending_older_than
        with self.db.write() as s:
            q = select(m.Version.id).where(
                m.Version.state == PENDING, m.Version.updated_at < cutoff
            )
            if not self.principal.is_superuser:  # others only where they may write
                writable = [
                    e
                    for e, r in self.principal.roles.items()
                    if ROLE_RANK[r] >= ROLE_RANK["member"]
                ]
                q = (
                    q.join(m.Collection, m.Collection.id == m.Version.collection_id)
                    .join(m.Project, m.Project.id == m.Collection.project_id)
                    .join(m.Entity, m.Entity.id == m.Project.entity_id)
                    .where(m.Entity.name.in_(writable))
                )
            stale = s.scalars(q).all()
            if stale:
                s.execute(delete(m.Version).where(among(s, m.Version.id, list(stale))))
        return len(stale)

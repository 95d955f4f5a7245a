"""Who may read a blob: the one rule, for every face and every way bytes go out.

A caller may read a blob if a committed version it may read names it: a version in a project
it may read (:mod:`cairn.core.permissions`), or one linked into a portfolio there (registry
readers read what was promoted to it, wherever it was logged: :mod:`cairn.core.links`). A
superuser reads everything. One blob, pack streams, ranged pack reads and presigned URLs are
all granted by :func:`readable` and nothing else; proof of possession
(:mod:`cairn.core.possession`) counts a readable blob as held.

Another project's blob and a blob nobody has get the same answer, from the same query.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core import permissions
from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.core.db.bulk import among, chunks
from cairn.core.db.engine import Database
from cairn.errors import BlobNotFoundError
from cairn.records import COMMITTED


def readable(s: Session, who: Principal, digests: Sequence[str]) -> set[str]:
    """Which of ``digests`` some committed version that ``who`` may read names: in a project
    the caller may read, or linked into a portfolio there (a registry's readers use what is
    promoted to it: :mod:`cairn.core.links`)."""
    wanted = list(dict.fromkeys(digests))
    if who.is_superuser:
        return set(wanted)
    out: set[str] = set()
    for chunk in chunks(wanted):
        for collection_of in (m.Version.collection_id, m.Link.portfolio_id):
            # A plain join, not EXISTS per blob: PostgreSQL planned the correlated form as a
            # scan of version_files per blob (minutes for 20,000 blobs).
            files = select(m.VersionFile.blob).join(
                m.Version, m.Version.id == m.VersionFile.version_id
            )
            if collection_of is m.Link.portfolio_id:
                files = files.join(m.Link, m.Link.version_id == m.Version.id)
            files = (
                files.join(m.Collection, m.Collection.id == collection_of)
                .join(m.Project, m.Project.id == m.Collection.project_id)
                .join(m.Entity, m.Entity.id == m.Project.entity_id)
                .where(
                    among(s, m.VersionFile.blob, chunk),
                    m.Version.state == COMMITTED,
                    permissions.readable_projects(who),
                )
                .distinct()
            )
            out.update(b for b in s.scalars(files) if b is not None)
    return out


def readable_blobs(db: Database, who: Principal, digests: Sequence[str]) -> set[str]:
    """:func:`readable`, in a read transaction of its own."""
    with db.read() as s:
        return readable(s, who, digests)


def require_readable(db: Database, who: Principal, digests: Sequence[str]) -> None:
    """Raise unless ``who`` may read every one of ``digests``.

    Raises:
        BlobNotFoundError: one may not be read (whether someone else's or nobody's); its
            ``details["missing"]`` lists those (up to 1000).
    """
    allowed = readable_blobs(db, who, digests)
    absent = [d for d in digests if d not in allowed]
    if absent:
        raise BlobNotFoundError(
            f"blob {absent[0]} not found", details={"missing": list(dict.fromkeys(absent))[:1000]}
        )

"""Reading for people browsing the catalog: projects one may see, newest versions first, and
a version's files one folder at a time.

Every function checks read access the way the rest of the core does
(:mod:`cairn.core.permissions`), and costs a bounded number of indexed statements whatever the
size of what it pages through: 10,000 versions or 1,000,000 files open as fast as ten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from cairn.core import catalog, permissions
from cairn.core.db import models as m
from cairn.records import COMMITTED, CollectionRecord, VersionRecord

if TYPE_CHECKING:
    from cairn.core.service import Service


@dataclass(frozen=True)
class ProjectRow:
    entity: str
    name: str
    visibility: str
    created_at: datetime


@dataclass(frozen=True)
class CollectionRow:
    """A collection with what a listing shows of its newest version."""

    record: CollectionRecord
    latest_version: str | None  # "vN"
    latest_size: int | None
    latest_at: datetime | None


@dataclass(frozen=True)
class DirEntry:
    """A file of a version, or a folder (``is_dir``: ``name`` ends with ``/``, no size)."""

    name: str
    path: str
    is_dir: bool
    size: int | None = None
    digest: str | None = None
    ref: str | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_projects(
    svc: Service,
    *,
    search: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int = 50,
) -> tuple[list[ProjectRow], tuple[str, str] | None]:
    """Projects the caller may read (their own, their teams', public ones), by entity and name,
    whose ``entity/name`` contains ``search``; and the ``after`` of the next page."""
    limit = max(1, min(limit, 500))
    with svc.db.read() as s:
        q = select(m.Entity.name, m.Project.name, m.Project.visibility, m.Project.created_at).join(
            m.Entity, m.Entity.id == m.Project.entity_id
        )
        if not svc.principal.is_superuser:
            q = q.where(permissions.readable_projects(svc.principal))
        if search:
            pattern = _like(search.lower())
            q = q.where((m.Entity.name + "/" + m.Project.name).ilike(pattern, escape="\\"))
        if after is not None:
            q = q.where(tuple_(m.Entity.name, m.Project.name) > tuple_(*after))
        rows = s.execute(q.order_by(m.Entity.name, m.Project.name).limit(limit + 1)).all()
    out = [ProjectRow(e, p, v, m.as_utc(c)) for e, p, v, c in rows[:limit]]
    nxt = (out[-1].entity, out[-1].name) if len(rows) > limit else None
    return out, nxt


def collections_overview(svc: Service, entity: str, project: str) -> list[CollectionRow]:
    """A project's collections (read access checked by the service) with their newest
    version's name, size and time, in one more statement."""
    records = svc.list_collections(entity, project)
    ids = [int(r.id) for r in records if r.kind != "portfolio"]
    newest: dict[int, tuple[int, int, datetime]] = {}
    if ids:
        with svc.db.read() as s:
            newest = _newest_versions(s, ids)
    out = []
    for r in records:
        got = newest.get(int(r.id)) if r.kind != "portfolio" else None
        out.append(
            CollectionRow(
                record=r,
                latest_version=f"v{got[0]}" if got else None,
                latest_size=got[1] if got else None,
                latest_at=m.as_utc(got[2]) if got else None,
            )
        )
    return out


def _newest_versions(s: Session, ids: list[int]) -> dict[int, tuple[int, int, datetime]]:
    newest = (
        select(m.Version.collection_id, func.max(m.Version.index).label("top"))
        .where(m.Version.collection_id.in_(ids), m.Version.state == COMMITTED)
        .group_by(m.Version.collection_id)
        .subquery()
    )
    rows = s.execute(
        select(m.Version.collection_id, m.Version.index, m.Version.size, m.Version.created_at).join(
            newest,
            (newest.c.collection_id == m.Version.collection_id) & (newest.c.top == m.Version.index),
        )
    ).all()
    return {c: (i or 0, size, at) for c, i, size, at in rows}  # committed: i is set


def versions_newest_first(
    svc: Service,
    entity: str,
    project: str,
    collection: str,
    *,
    before_index: int | None = None,
    limit: int = 50,
) -> tuple[CollectionRecord, list[VersionRecord], int | None]:
    """A collection, one page of its committed versions from the newest down (below
    ``before_index``), and the ``before_index`` of the next page.

    A portfolio's memberships page oldest first (its own order), from ``before_index`` + 1.

    Raises:
        CollectionNotFoundError: no such collection, or one the caller may not read (alike).
    """
    limit = max(1, min(limit, 500))
    record = svc.get_collection(entity, project, collection)  # checks read access
    if record.kind == "portfolio":
        after = before_index if before_index is not None else None
        page, nxt = svc.list_versions(entity, project, collection, after_index=after, limit=limit)
        return record, page, nxt
    with svc.db.read() as s:
        q = select(m.Version).where(
            m.Version.collection_id == int(record.id), m.Version.state == COMMITTED
        )
        if before_index is not None:
            q = q.where(m.Version.index < before_index)
        rows = list(s.scalars(q.order_by(m.Version.index.desc()).limit(limit + 1)).all())
        page = catalog.version_records(s, rows[:limit])
    nxt = page[-1].index if len(rows) > limit else None
    return record, page, nxt


def list_dir(
    svc: Service, version_id: str, prefix: str = "", *, after: str | None = None, limit: int = 100
) -> tuple[list[DirEntry], str | None]:
    """One page of a folder of a version (``prefix`` is ``""`` or ends with ``/``): its
    folders and files in path order, after the entry named ``after``; and the next ``after``.

    Reads the file index by path range, skipping over each sub-folder with one index seek, so
    a folder costs about one statement per sub-folder on the page plus one per ``limit`` files,
    never a scan of the version. Paths compare in code point order (SQLite's, and
    PostgreSQL's with the C collation Cairn's databases use).

    Raises:
        ArtifactNotFoundError: no such version, or one the caller may not read (alike).
    """
    limit = max(1, min(limit, 1000))
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    record = svc.get_version(version_id)  # checks read access
    # A folder's paths all lie in [prefix, prefix with its last "/" raised to "0").
    upper = prefix[:-1] + "0" if prefix else None
    out: list[DirEntry] = []
    if after is None:
        low, inclusive = prefix, True
    elif after.endswith("/"):
        low, inclusive = prefix + after[:-1] + "0", True
    else:
        low, inclusive = prefix + after, False
    with svc.db.read() as s:
        vid = s.scalar(select(m.Version.id).where(m.Version.public_id == record.id))
        batch = limit + 1
        f = m.VersionFile
        while len(out) <= limit:
            q = select(f.path, f.size, f.digest, f.ref).where(f.version_id == vid)
            q = q.where(f.path >= low if inclusive else f.path > low)
            if upper is not None:
                q = q.where(f.path < upper)
            rows = s.execute(q.order_by(f.path).limit(batch)).all()
            seen_folder = False
            for path, size, digest, ref in rows:
                rest = path[len(prefix) :]
                if "/" in rest:
                    child = rest.split("/", 1)[0]
                    out.append(DirEntry(child + "/", prefix + child + "/", True))
                    low, inclusive = prefix + child + "0", True  # past everything in it
                    seen_folder = True
                    break
                out.append(DirEntry(rest, path, False, size, digest, ref))
                low, inclusive = path, False
                if len(out) > limit:
                    break
            if not seen_folder and len(rows) < batch:
                break  # the folder has no more
            # After a folder, the next rows are often more folders: look a little ahead.
            batch = 8 if seen_folder else limit + 1 - len(out) or 1
    page = out[:limit]
    return page, (page[-1].name if len(out) > limit else None)

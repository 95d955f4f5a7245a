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

from sqlalchemy import func, select, text, tuple_
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


def _like(words: str) -> str:
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
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

    One statement walks the file index by path (a recursive query, one index seek per entry:
    to the next file, or past the whole of a sub-folder), and one more reads the files it found,
    so a page costs the same in a version of ten files or of a million. Paths compare in code
    point order (SQLite's, and PostgreSQL's with the C collation Cairn's databases use).

    Raises:
        ArtifactNotFoundError: no such version, or one the caller may not read (alike).
    """
    limit = max(1, min(limit, 1000))
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    record = svc.get_version(version_id)  # checks read access
    if after is None:
        low = prefix
    elif after.endswith("/"):
        low = prefix + after[:-1] + _PAST_FOLDER
    else:
        low = prefix + after + _PAST_FILE
    with svc.db.read() as s:
        vid = s.scalar(select(m.Version.id).where(m.Version.public_id == record.id))
        params = {"vid": vid, "low": low, "plen": len(prefix), "limit": limit + 1}
        params.update(past_folder=_PAST_FOLDER, past_file=_PAST_FILE)
        if prefix:  # a folder's paths all lie below its prefix with the last "/" raised to "0"
            params["upper"] = prefix[:-1] + _PAST_FOLDER
        sql = _walk_sql("instr" if svc.db.is_sqlite else "strpos", bool(prefix))
        found = [p for (p,) in s.execute(text(sql), params)]
        names = [p for p in found if "/" not in p[len(prefix) :]]
        f = m.VersionFile
        files = {
            r.path: r
            for r in s.execute(
                select(f.path, f.size, f.digest, f.ref).where(
                    f.version_id == vid, f.path.in_(names)
                )
            )
        }
    out: list[DirEntry] = []
    for path in found:
        rest = path[len(prefix) :]
        if "/" in rest:
            child = rest.split("/", 1)[0]
            out.append(DirEntry(child + "/", prefix + child + "/", True))
        else:
            r = files[path]
            out.append(DirEntry(rest, path, False, r.size, r.digest, r.ref))
    page = out[:limit]
    return page, (page[-1].name if len(out) > limit else None)


# The least string above every path under a folder "a/b/" is "a/b0" ("0" follows "/"); the least
# above a file's path is the path and "\x01" (no path holds NUL, so nothing lies between).
_PAST_FOLDER, _PAST_FILE = "0", "\x01"


def _walk_sql(position: str, bounded: bool) -> str:
    """The recursive walk over a folder's entries: each step seeks the least path at or above
    the bound the previous entry sets (past its sub-folder, or just past the file).

    ``position`` is the dialect's 1-based ``strpos``/``instr``.
    """
    upper = "AND f.path < :upper" if bounded else ""
    slash = f"{position}(substr(w.path, :plen + 1), '/')"
    return f"""
WITH RECURSIVE w(path, n) AS (
  SELECT (SELECT min(f.path) FROM version_files f
          WHERE f.version_id = :vid AND f.path >= :low {upper}), 0
  UNION ALL
  SELECT (SELECT min(f.path) FROM version_files f
          WHERE f.version_id = :vid {upper} AND f.path >= CASE
            WHEN {slash} > 0 THEN substr(w.path, 1, :plen + {slash} - 1) || :past_folder
            ELSE w.path || :past_file END), w.n + 1
  FROM w WHERE w.path IS NOT NULL AND w.n + 1 < :limit
)
SELECT path FROM w WHERE path IS NOT NULL ORDER BY n
"""

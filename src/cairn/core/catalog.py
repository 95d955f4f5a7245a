"""Reading the catalog in few queries: version records, ``name:alias`` lookups, collection pages.

These are the requests a team server answers most (every ``use_artifact``, every CI job that
resolves ``:latest``, every listing), so each costs a fixed number of statements whatever the
page size: a page of 50 versions is five queries, not five per version. Permission checks stay
with the caller (:class:`~cairn.core.service.Service`); these functions only read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from cairn import naming
from cairn.core import latest, ttl
from cairn.core.db import models as m
from cairn.core.db.bulk import among
from cairn.records import COMMITTED, CollectionRecord, VersionRecord

_V = m.Version.__table__
_C = m.Collection.__table__
_P = m.Project.__table__
_E = m.Entity.__table__
_A = m.Alias.__table__
_T = m.Tag.__table__
_R = m.Run.__table__

# Everything a version record needs, but its aliases and tags, in one row: built once, so a
# request pays for running the statement, not for building it.
_latest_index = (
    select(func.max(_V.c.version_index))
    .where(_V.c.collection_id == _C.c.id, _V.c.state == COMMITTED)
    .correlate(_C)
    .scalar_subquery()
)
_RECORD = (
    select(
        _V.c.id,
        _V.c.public_id,
        _V.c.version_index,
        _V.c.digest,
        _V.c.state,
        _V.c.description,
        _V.c.metadata,
        _V.c.size,
        _V.c.file_count,
        _V.c.manifest_digest,
        _V.c.created_at,
        _V.c.updated_at,
        _V.c.ttl_seconds,
        _V.c.ttl_inherit,
        _C.c.name.label("collection"),
        _C.c.type,
        _P.c.name.label("project"),
        _P.c.visibility,
        _E.c.name.label("entity"),
        _E.c.default_ttl_seconds,
        _R.c.public_id.label("run"),
        _latest_index.label("latest_index"),
    )
    .select_from(_V)
    .join(_C, _C.c.id == _V.c.collection_id)
    .join(_P, _P.c.id == _C.c.project_id)
    .join(_E, _E.c.id == _P.c.entity_id)
    .outerjoin(_R, _R.c.id == _V.c.run_id)
)
_BY_NAME = _RECORD.where(
    _E.c.name == bindparam("entity"),
    _P.c.name == bindparam("project"),
    _C.c.name == bindparam("collection"),
    _V.c.state == COMMITTED,
)
_FIND_LATEST = _BY_NAME.order_by(_V.c.version_index.desc()).limit(1)
_FIND_INDEX = _BY_NAME.where(_V.c.version_index == bindparam("index"))
_FIND_ALIAS = _BY_NAME.where(
    _V.c.id.in_(
        select(_A.c.version_id).where(
            _A.c.collection_id == _C.c.id, _A.c.alias == bindparam("alias")
        )
    )
)
_BY_PK = _RECORD.where(_V.c.id.in_(bindparam("ids", expanding=True)))
_LABELS = union_all(
    select(
        literal("a").label("kind"), _A.c.version_id, _A.c.alias.label("label"), _A.c.id.label("pos")
    ).where(_A.c.version_id.in_(bindparam("ids", expanding=True))),
    select(literal("t"), _T.c.version_id, _T.c.tag, _T.c.position).where(
        _T.c.version_id.in_(bindparam("ids", expanding=True))
    ),
).order_by("kind", "pos")


@dataclass(frozen=True)
class Found:
    """A version that a lookup found, with what a permission check needs to know of it."""

    entity: str
    visibility: str
    record: VersionRecord


def _records(s: Session, rows: Sequence[Any]) -> list[VersionRecord]:
    """Records from :data:`_RECORD` rows, with their aliases and tags (one more statement)."""
    if not rows:
        return []
    aliases: dict[int, list[str]] = defaultdict(list)
    tags: dict[int, list[str]] = defaultdict(list)
    latest_removed: set[int] = set()  # see cairn.core.latest: the mark is not an alias
    for kind, vid, label, _ in s.execute(_LABELS, {"ids": [r.id for r in rows]}):
        if kind == "a" and label == latest.REMOVED:
            latest_removed.add(vid)
        else:
            (aliases if kind == "a" else tags)[vid].append(label)
    out = []
    for r in rows:
        names = aliases.get(r.id, [])
        newest = r.state == COMMITTED and r.latest_index == r.version_index
        if newest and r.id not in latest_removed:
            names = ["latest", *names]
        out.append(
            VersionRecord(
                id=r.public_id,
                entity=r.entity,
                project=r.project,
                collection=r.collection,
                type=r.type,
                index=r.version_index,
                digest=r.digest or "",
                state=r.state,
                description=r.description,
                metadata=dict(r.metadata or {}),
                aliases=tuple(names),
                tags=tuple(tags.get(r.id, ())),
                size=r.size,
                file_count=r.file_count,
                manifest_digest=r.manifest_digest,
                created_at=m.as_utc(r.created_at),
                updated_at=m.as_utc(r.updated_at),
                created_by_run=r.run,
                commit_hash=r.manifest_digest[:12] if r.manifest_digest else None,
                ttl_seconds=ttl.effective(r.ttl_inherit, r.ttl_seconds, r.default_ttl_seconds),
                ttl_inherit=r.ttl_inherit,
            )
        )
    return out


def version_records(s: Session, versions: Sequence[m.Version]) -> list[VersionRecord]:
    """Records of ``versions``, in their order, in two statements whatever their number."""
    if not versions:
        return []
    rows = {r.id: r for r in s.execute(_BY_PK, {"ids": [v.id for v in versions]})}
    return _records(s, [rows[v.id] for v in versions])


def find_version(
    s: Session, entity: str, project: str, collection: str, alias: str
) -> Found | None:
    """The committed version ``entity/project/collection:alias`` names (``latest``, ``vN`` or a
    custom alias), in two statements; None when there is none. The caller checks access."""
    params: dict[str, Any] = {"entity": entity, "project": project, "collection": collection}
    if alias == "latest":
        stmt = _FIND_LATEST
    elif naming.is_version_alias(alias):
        stmt, params["index"] = _FIND_INDEX, naming.version_index(alias)
    else:
        stmt, params["alias"] = _FIND_ALIAS, alias
    if alias == latest.REMOVED:
        return None
    row = s.execute(stmt, params).first()
    if row is None:
        return None
    record = _records(s, [row])[0]
    if alias == "latest" and "latest" not in record.aliases:
        return None  # taken off the newest version by hand: no `latest` until the next log
    return Found(entity=row.entity, visibility=row.visibility, record=record)


def version_page(
    s: Session,
    collection_id: int,
    *,
    after_index: int | None,
    limit: int,
    tags: Sequence[str] | None = None,
) -> list[VersionRecord]:
    """Committed versions of a collection in index order, after ``after_index``."""
    q = _RECORD.where(_V.c.collection_id == collection_id, _V.c.state == COMMITTED)
    if after_index is not None:
        q = q.where(_V.c.version_index > after_index)
    if tags:
        q = q.where(_V.c.id.in_(select(m.Tag.version_id).where(among(s, m.Tag.tag, list(tags)))))
    return _records(s, s.execute(q.order_by(_V.c.version_index).limit(limit)).all())


def collection_records(
    s: Session, collections: Sequence[m.Collection], entity: str, project: str
) -> list[CollectionRecord]:
    """Records of ``collections`` (in their order) in two queries: version counts and newest
    indexes, then aliases."""
    if not collections:
        return []
    ids = [c.id for c in collections]
    counts: dict[int, tuple[int, int | None]] = {
        cid: (n, newest)
        for cid, n, newest in s.execute(
            select(m.Version.collection_id, func.count(), func.max(m.Version.index))
            .where(m.Version.collection_id.in_(ids), m.Version.state == COMMITTED)
            .group_by(m.Version.collection_id)
        )
    }
    aliases: dict[int, list[str]] = defaultdict(list)
    latest_removed: set[int] = set()
    for cid, alias, index in s.execute(
        select(m.Alias.collection_id, m.Alias.alias, m.Version.index)
        .join(m.Version, m.Version.id == m.Alias.version_id)
        .where(m.Alias.collection_id.in_(ids))
        .order_by(m.Alias.id)
    ):
        if alias != latest.REMOVED:
            aliases[cid].append(alias)
        elif index == counts.get(cid, (0, None))[1]:  # the mark counts on the newest only
            latest_removed.add(cid)
    out = []
    for coll in collections:
        count = counts.get(coll.id, (0, None))[0]
        names = aliases.get(coll.id, [])
        has_latest = count > 0 and coll.id not in latest_removed
        out.append(
            CollectionRecord(
                id=str(coll.id),
                entity=entity,
                project=project,
                name=coll.name,
                type=coll.type,
                description=coll.description,
                created_at=m.as_utc(coll.created_at),
                updated_at=m.as_utc(coll.updated_at),
                version_count=count,
                aliases=("latest", *names) if has_latest else tuple(names),
                tags=tuple(coll.tags or ()),
            )
        )
    return out


def committed_collections(
    s: Session,
    project_id: int,
    type_name: str | None = None,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> list[m.Collection]:
    """Collections of a project that hold a committed version, in name order, paged in SQL."""
    has_version = (
        select(m.Version.id)
        .where(m.Version.collection_id == m.Collection.id, m.Version.state == COMMITTED)
        .exists()
    )
    has_link = select(m.Link.id).where(m.Link.portfolio_id == m.Collection.id).exists()
    q = select(m.Collection).where(m.Collection.project_id == project_id, has_version | has_link)
    if type_name is not None:
        q = q.where(m.Collection.type == type_name)
    if after is not None:
        q = q.where(m.Collection.name > after)
    q = q.order_by(m.Collection.name)
    if limit is not None:
        q = q.limit(limit)
    return list(s.scalars(q).all())

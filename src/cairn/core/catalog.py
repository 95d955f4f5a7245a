"""Reading the catalog in few queries: version records, ``name:alias`` lookups, collection pages.

These are the requests a team server answers most (every ``use_artifact``, every CI job that
resolves ``:latest``, every listing), so each costs a fixed number of statements whatever the
page size: a page of 50 versions is five queries, not five per version. Permission checks stay
with the caller (:class:`~cairn.core.service.Service`); these functions only read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cairn import naming
from cairn.core.db import models as m
from cairn.records import COMMITTED, CollectionRecord, VersionRecord


def latest_indexes(s: Session, collection_ids: Sequence[int]) -> dict[int, int]:
    """The index of each collection's newest committed version (absent: none committed)."""
    if not collection_ids:
        return {}
    rows = s.execute(
        select(m.Version.collection_id, func.max(m.Version.index))
        .where(m.Version.collection_id.in_(set(collection_ids)), m.Version.state == COMMITTED)
        .group_by(m.Version.collection_id)
    ).all()
    return {cid: idx for cid, idx in rows if idx is not None}


def version_records(s: Session, versions: Sequence[m.Version]) -> list[VersionRecord]:
    """Records of ``versions`` (in their order): their collections, projects and entities come
    from the session's identity map or one lookup each, then one query each for the latest
    indexes, the aliases, the tags and the producing runs."""
    if not versions:
        return []
    ids = [v.id for v in versions]
    colls = {v.collection_id: s.get_one(m.Collection, v.collection_id) for v in versions}
    projs = {c.project_id: s.get_one(m.Project, c.project_id) for c in colls.values()}
    ents = {p.entity_id: s.get_one(m.Entity, p.entity_id) for p in projs.values()}
    latest = latest_indexes(s, list(colls))
    aliases: dict[int, list[str]] = defaultdict(list)
    for vid, alias in s.execute(
        select(m.Alias.version_id, m.Alias.alias)
        .where(m.Alias.version_id.in_(ids))
        .order_by(m.Alias.id)
    ):
        aliases[vid].append(alias)
    tags: dict[int, list[str]] = defaultdict(list)
    for vid, tag in s.execute(
        select(m.Tag.version_id, m.Tag.tag)
        .where(m.Tag.version_id.in_(ids))
        .order_by(m.Tag.position)
    ):
        tags[vid].append(tag)
    run_ids = {v.run_id for v in versions if v.run_id is not None}
    runs: dict[int, str] = {}
    if run_ids:
        runs = dict(s.execute(select(m.Run.id, m.Run.public_id).where(m.Run.id.in_(run_ids))).all())
    out = []
    for ver in versions:
        coll = colls[ver.collection_id]
        proj = projs[coll.project_id]
        names = aliases.get(ver.id, [])
        if ver.state == COMMITTED and latest.get(coll.id) == ver.index:
            names = ["latest", *names]
        out.append(
            VersionRecord(
                id=ver.public_id,
                entity=ents[proj.entity_id].name,
                project=proj.name,
                collection=coll.name,
                type=coll.type,
                index=ver.index,
                digest=ver.digest or "",
                state=ver.state,
                description=ver.description,
                metadata=dict(ver.metadata_ or {}),
                aliases=tuple(names),
                tags=tuple(tags.get(ver.id, ())),
                size=ver.size,
                file_count=ver.file_count,
                manifest_digest=ver.manifest_digest,
                created_at=m.as_utc(ver.created_at),
                updated_at=m.as_utc(ver.updated_at),
                created_by_run=runs.get(ver.run_id) if ver.run_id is not None else None,
                commit_hash=ver.manifest_digest[:12] if ver.manifest_digest else None,
                ttl_seconds=ver.ttl_seconds,
            )
        )
    return out


def find_version(
    s: Session, entity: str, project: str, collection: str, alias: str
) -> tuple[m.Version, m.Project] | None:
    """The committed version ``entity/project/collection:alias`` names (``latest``, ``vN`` or a
    custom alias) and its project, in one statement; None when there is none."""
    q = (
        select(m.Version, m.Project)
        .join(m.Collection, m.Collection.id == m.Version.collection_id)
        .join(m.Project, m.Project.id == m.Collection.project_id)
        .join(m.Entity, m.Entity.id == m.Project.entity_id)
        .where(
            m.Entity.name == entity,
            m.Project.name == project,
            m.Collection.name == collection,
            m.Version.state == COMMITTED,
        )
    )
    if alias == "latest":
        q = q.order_by(m.Version.index.desc()).limit(1)
    elif naming.is_version_alias(alias):
        q = q.where(m.Version.index == int(alias[1:]))
    else:
        q = q.join(m.Alias, m.Alias.version_id == m.Version.id).where(m.Alias.alias == alias)
    row = s.execute(q).first()
    return None if row is None else (row[0], row[1])


def collection_records(
    s: Session, collections: Sequence[m.Collection], entity: str, project: str
) -> list[CollectionRecord]:
    """Records of ``collections`` (in their order) in two queries: version counts, aliases."""
    if not collections:
        return []
    ids = [c.id for c in collections]
    counts = dict(
        s.execute(
            select(m.Version.collection_id, func.count())
            .where(m.Version.collection_id.in_(ids), m.Version.state == COMMITTED)
            .group_by(m.Version.collection_id)
        ).all()
    )
    aliases: dict[int, list[str]] = defaultdict(list)
    for cid, alias in s.execute(
        select(m.Alias.collection_id, m.Alias.alias)
        .where(m.Alias.collection_id.in_(ids))
        .order_by(m.Alias.id)
    ):
        aliases[cid].append(alias)
    out = []
    for coll in collections:
        count = counts.get(coll.id, 0)
        names = aliases.get(coll.id, [])
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
                aliases=("latest", *names) if count else tuple(names),
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
    q = select(m.Collection).where(m.Collection.project_id == project_id, has_version)
    if type_name is not None:
        q = q.where(m.Collection.type == type_name)
    if after is not None:
        q = q.where(m.Collection.name > after)
    q = q.order_by(m.Collection.name)
    if limit is not None:
        q = q.limit(limit)
    return list(s.scalars(q).all())

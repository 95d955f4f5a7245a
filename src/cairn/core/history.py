"""The audit trail: an append-only table of who changed what, and when.

The core records an event wherever it makes a change (:mod:`cairn.core.service`), inside the
same transaction, so a change and its event commit or roll back together. Nothing updates or
deletes an event. Actions:

================== =================================================================
``alias.added``     an alias now names this version (``latest`` too, when a commit or a
                    deletion moves it); ``details``: ``alias``, ``from_version`` (the id of
                    the version it left, or None)
``alias.removed``   an alias stopped naming this version; ``alias``, ``to_version``
``tag.added``       ``tag``
``tag.removed``     ``tag``
``description.changed``  ``before``, ``after``
``metadata.changed``     ``before``, ``after`` (the whole metadata dict)
``version.deleted``      ``aliases`` it still had
``version.expired``      the same, when its TTL ran out (the actor: the caller of the expiry)
``link.added``      linked into a portfolio: ``link`` (the membership's id), ``index`` (its
                    ``vK`` there), and ``portfolio`` (on the source version's history) or
                    ``source`` (``entity/project/name:vN``, on the portfolio's)
``link.aliases``    the membership's portfolio aliases became ``aliases``; ``link``, as above
``link.removed``    the membership went; ``link``, ``index``, as above
``ttl.changed``     ``before``, ``after``: each ``{"seconds", "inherit"}``
================== =================================================================

Links (:mod:`cairn.core.links`) and TTL (:mod:`cairn.core.ttl`) record theirs through
:func:`record`, in the transaction that makes the change.
Reading needs read access to the collection's project.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from cairn.core import latest
from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.errors import CollectionNotFoundError, ProjectNotFoundError
from cairn.records import COMMITTED, HistoryEvent

if TYPE_CHECKING:
    from cairn.core.service import Service

ALIAS_ADDED = "alias.added"
ALIAS_REMOVED = "alias.removed"
TAG_ADDED = "tag.added"
TAG_REMOVED = "tag.removed"
DESCRIPTION_CHANGED = "description.changed"
METADATA_CHANGED = "metadata.changed"
VERSION_DELETED = "version.deleted"
VERSION_EXPIRED = "version.expired"
LINK_ADDED = "link.added"
LINK_REMOVED = "link.removed"
LINK_ALIASES = "link.aliases"
TTL_CHANGED = "ttl.changed"
ACTIONS = (
    ALIAS_ADDED,
    ALIAS_REMOVED,
    TAG_ADDED,
    TAG_REMOVED,
    DESCRIPTION_CHANGED,
    METADATA_CHANGED,
    VERSION_DELETED,
    VERSION_EXPIRED,
    LINK_ADDED,
    LINK_REMOVED,
    LINK_ALIASES,
    TTL_CHANGED,
)

LATEST = "latest"


def record(
    s: Session,
    who: Principal,
    action: str,
    *,
    collection_id: int,
    version_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event (in the caller's transaction). ``details`` must be JSON."""
    s.add(
        m.HistoryEvent(
            collection_id=collection_id,
            version_id=version_id,
            action=action,
            actor=who.name,
            details=details or {},
        )
    )


def _public_id(s: Session, version_pk: int | None) -> str | None:
    if version_pk is None:
        return None
    return s.scalar(select(m.Version.public_id).where(m.Version.id == version_pk))


def _latest_pk(s: Session, collection_id: int, *, besides: int | None = None) -> int | None:
    q = select(m.Version.id).where(
        m.Version.collection_id == collection_id, m.Version.state == COMMITTED
    )
    if besides is not None:
        q = q.where(m.Version.id != besides)
    return s.scalar(q.order_by(m.Version.index.desc()).limit(1))


def alias_moves(
    s: Session, who: Principal, collection_id: int, version_pk: int, aliases: Sequence[str]
) -> None:
    """Record ``aliases`` moving onto a version, before the move; an alias already there is
    no move."""
    if not aliases:
        return
    rows = s.execute(
        select(m.Alias.alias, m.Alias.version_id).where(
            m.Alias.collection_id == collection_id, m.Alias.alias.in_(list(aliases))
        )
    )
    held = {alias: pk for alias, pk in rows}
    for alias in aliases:
        old = held.get(alias)
        if old == version_pk:
            continue
        _move(s, who, collection_id, alias, old, version_pk)


def _move(
    s: Session, who: Principal, collection_id: int, alias: str, old: int | None, new: int | None
) -> None:
    old_id, new_id = _public_id(s, old), _public_id(s, new)
    if old is not None:
        record(
            s,
            who,
            ALIAS_REMOVED,
            collection_id=collection_id,
            version_id=old,
            details={"alias": alias, "to_version": new_id},
        )
    if new is not None:
        record(
            s,
            who,
            ALIAS_ADDED,
            collection_id=collection_id,
            version_id=new,
            details={"alias": alias, "from_version": old_id},
        )


def latest_moves(s: Session, who: Principal, collection_id: int, version_pk: int) -> None:
    """Record ``latest`` moving onto a version about to be committed (call it before)."""
    _move(s, who, collection_id, LATEST, _latest_pk(s, collection_id), version_pk)


def aliases_removed(s: Session, who: Principal, ver: m.Version, keep: Sequence[str]) -> None:
    """Record the custom aliases of ``ver`` not in ``keep``, before they are deleted."""
    held = s.scalars(
        select(m.Alias.alias).where(m.Alias.version_id == ver.id).order_by(m.Alias.id)
    ).all()
    for alias in held:
        if alias not in keep:
            _move(s, who, ver.collection_id, alias, ver.id, None)


def tags_changed(
    s: Session, who: Principal, version_pk: int, before: Sequence[str], after: Sequence[str]
) -> None:
    """Record the difference between a version's tags before and after a change."""
    if list(before) == list(after):
        return
    collection_id = s.get_one(m.Version, version_pk).collection_id
    for tag in before:
        if tag not in after:
            record(
                s,
                who,
                TAG_REMOVED,
                collection_id=collection_id,
                version_id=version_pk,
                details={"tag": tag},
            )
    for tag in after:
        if tag not in before:
            record(
                s,
                who,
                TAG_ADDED,
                collection_id=collection_id,
                version_id=version_pk,
                details={"tag": tag},
            )


def fields_changed(s: Session, who: Principal, ver: m.Version) -> None:
    """Record the description and metadata edits made to ``ver`` in this session and not yet
    flushed, as (before, after) pairs; setting a value equal to the old one is no edit."""
    state = inspect(ver)
    for action, attr in ((DESCRIPTION_CHANGED, "description"), (METADATA_CHANGED, "metadata_")):
        hist = state.attrs[attr].history
        if not hist.added:
            continue
        before = hist.deleted[0] if hist.deleted else None
        after = hist.added[0]
        if before != after:
            record(
                s,
                who,
                action,
                collection_id=ver.collection_id,
                version_id=ver.id,
                details={"before": before, "after": after},
            )


def version_deleted(
    s: Session, who: Principal, ver: m.Version, action: str = VERSION_DELETED
) -> None:
    """Record a deletion, the aliases it takes away and ``latest`` moving back; call it while
    the version is still committed and still holds its aliases."""
    aliases = list(
        s.scalars(
            select(m.Alias.alias)
            .where(m.Alias.version_id == ver.id, m.Alias.alias != latest.REMOVED)
            .order_by(m.Alias.id)
        )
    )
    record(
        s,
        who,
        action,
        collection_id=ver.collection_id,
        version_id=ver.id,
        details={"aliases": aliases},
    )
    for alias in aliases:
        _move(s, who, ver.collection_id, alias, ver.id, None)
    if _latest_pk(s, ver.collection_id) == ver.id:
        _move(
            s,
            who,
            ver.collection_id,
            LATEST,
            ver.id,
            _latest_pk(s, ver.collection_id, besides=ver.id),
        )


# -- reading -------------------------------------------------------------------------------------


def events(
    s: Session,
    *,
    collection: m.Collection,
    entity: str,
    project: str,
    version_pk: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[HistoryEvent], int | None]:
    """One page of a collection's events (or one version's), oldest first, and the ``after``
    of the next page (None on the last). The caller has checked read access."""
    limit = max(1, min(int(limit), 1000))
    q = (
        select(m.HistoryEvent, m.Version.public_id, m.Version.index)
        .outerjoin(m.Version, m.Version.id == m.HistoryEvent.version_id)
        .where(m.HistoryEvent.collection_id == collection.id)
    )
    if version_pk is not None:
        q = q.where(m.HistoryEvent.version_id == version_pk)
    if after is not None:
        q = q.where(m.HistoryEvent.id > after)
    rows = s.execute(q.order_by(m.HistoryEvent.id).limit(limit + 1)).all()
    page = [
        HistoryEvent(
            id=ev.id,
            action=ev.action,
            actor=ev.actor,
            at=m.as_utc(ev.at),
            entity=entity,
            project=project,
            collection=collection.name,
            version_id=public_id,
            version_index=index,
            details=dict(ev.details or {}),
        )
        for ev, public_id, index in rows[:limit]
    ]
    nxt = page[-1].id if len(rows) > limit else None
    return page, nxt


def of_version(
    svc: Service, version_id: str, *, after: int | None = None, limit: int = 100
) -> tuple[list[HistoryEvent], int | None]:
    """One page of a version's events, oldest first. Raises
    :class:`~cairn.errors.ArtifactNotFoundError` if the caller cannot see the version."""
    with svc.db.read() as s:
        ver = svc._visible_version(s, version_id)
        coll = s.get_one(m.Collection, ver.collection_id)
        proj = s.get_one(m.Project, coll.project_id)
        ent = s.get_one(m.Entity, proj.entity_id)
        return events(
            s,
            collection=coll,
            entity=ent.name,
            project=proj.name,
            version_pk=ver.id,
            after=after,
            limit=limit,
        )


def of_collection(
    svc: Service,
    entity: str,
    project: str,
    collection: str,
    *,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[HistoryEvent], int | None]:
    """One page of a collection's events (deleted versions' too), oldest first. Raises
    :class:`~cairn.errors.CollectionNotFoundError` if the caller cannot see the collection."""
    missing = CollectionNotFoundError(f"no artifact named {collection!r} in {entity}/{project}")
    with svc.db.read() as s:
        try:
            proj = svc._readable_project(s, entity, project)
        except (ProjectNotFoundError, PermissionError):
            raise missing from None
        coll = svc._collection(s, proj, collection)
        if coll is None:
            raise missing
        return events(s, collection=coll, entity=entity, project=project, after=after, limit=limit)

"""Portfolios: collections whose versions are links to versions of sequences.

A *portfolio* (``collections.kind == "portfolio"``) holds *memberships* (``links`` rows): a
version of some sequence collection, numbered ``vK`` in the portfolio's own order, made by
someone at some time. Its aliases (``link_aliases``) name memberships, one per alias per
portfolio; its ``latest`` is the newest membership. Nothing is copied: files, manifest and
digest stay the source version's, so a linked version is read through the source's id.

Seen through a portfolio, a version's entity, project, collection, index and aliases are the
portfolio's and ``source_*`` name its origin (:class:`~cairn.records.VersionRecord`).

Linking needs read on the source version and write on the target project; unlinking needs
write on the portfolio's project. Each operation is one function here, so whatever must
accompany it (an audit record) is one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cairn import naming
from cairn.core import history, registries
from cairn.core.db import models as m
from cairn.errors import (
    ArtifactNotFoundError,
    CollectionNotFoundError,
    ConflictError,
    ProjectNotFoundError,
    TypeConflictError,
    VersionLinkedError,
)
from cairn.records import COMMITTED, CollectionRecord, VersionRecord

if TYPE_CHECKING:
    from cairn.core.service import Service

PORTFOLIO = "portfolio"
SEQUENCE = "sequence"


def _newest(s: Session, portfolio_id: int) -> m.Link | None:
    return s.scalar(
        select(m.Link)
        .where(m.Link.portfolio_id == portfolio_id)
        .order_by(m.Link.index.desc())
        .limit(1)
    )


def membership_record(svc: Service, s: Session, link: m.Link) -> VersionRecord:
    """The source version as seen through ``link``'s portfolio."""
    source = s.get_one(m.Version, link.version_id)
    base = svc._version_record(s, source)
    portfolio = s.get_one(m.Collection, link.portfolio_id)
    proj = s.get_one(m.Project, portfolio.project_id)
    ent = s.get_one(m.Entity, proj.entity_id)
    aliases = list(
        s.scalars(
            select(m.LinkAlias.alias).where(m.LinkAlias.link_id == link.id).order_by(m.LinkAlias.id)
        )
    )
    newest = _newest(s, portfolio.id)
    if newest is not None and newest.id == link.id:
        aliases.insert(0, "latest")
    return replace(
        base,
        entity=ent.name,
        project=proj.name,
        collection=portfolio.name,
        index=link.index,
        aliases=tuple(aliases),
        link_id=str(link.id),
        linked_at=m.as_utc(link.created_at),
        source_entity=base.entity,
        source_project=base.project,
        source_collection=base.collection,
        source_index=base.index,
    )


def _portfolio_for_link(
    svc: Service, s: Session, entity: str, project: str, name: str, type_name: str
) -> m.Collection:
    proj = svc._project(s, entity, project, create=True)
    svc._check(s, proj, "write", f"project {entity}/{project}")
    registries.ensure_for_project(s, proj)
    coll = svc._collection(s, proj, name)
    if coll is None:
        coll = m.Collection(project_id=proj.id, name=name, type=type_name, kind=PORTFOLIO)
        s.add(coll)
        s.flush()
        return coll
    if coll.kind != PORTFOLIO:
        raise ConflictError(
            f"{entity}/{project}/{name} is a collection of logged versions, not a portfolio: "
            "link into a portfolio (a new name, or one made by an earlier link)"
        )
    if coll.type != type_name:
        raise TypeConflictError(
            f"portfolio {entity}/{project}/{name} holds {coll.type!r} artifacts, not {type_name!r}"
        )
    return coll


def move_aliases(s: Session, link: m.Link, aliases: Sequence[str]) -> None:
    """Point each alias of the portfolio at ``link`` (taking it from another membership)."""
    if not aliases:
        return
    s.execute(
        delete(m.LinkAlias).where(
            m.LinkAlias.portfolio_id == link.portfolio_id, m.LinkAlias.alias.in_(list(aliases))
        )
    )
    s.flush()
    for a in aliases:
        s.add(m.LinkAlias(portfolio_id=link.portfolio_id, alias=a, link_id=link.id))


def link_version(
    svc: Service,
    version_id: str,
    entity: str,
    project: str,
    portfolio: str,
    aliases: Sequence[str] = (),
) -> VersionRecord:
    """Link a version into a portfolio (made on first use) and give it the portfolio aliases.

    A version already in the portfolio keeps its membership (no second one); the aliases are
    applied all the same. ``project`` may be a registry's (``model-registry``,
    ``wandb-registry-NAME``).

    Raises:
        ArtifactNotFoundError: no version ``version_id`` the caller may read.
        ProjectNotFoundError, PermissionDeniedError: the caller may not write the target.
        ConflictError: the target is a sequence (a collection of logged versions).
        TypeConflictError: the portfolio holds artifacts of another type.
        ValidationError: a bad name or alias.
    """
    project = registries.canonical_project(project)
    naming.check_name(entity, "entity name")
    naming.check_name(project, "project name")
    naming.check_name(portfolio, "portfolio name")
    clean = naming.clean_aliases(aliases)

    def run(s: Session) -> VersionRecord:
        source = svc._visible_version(s, version_id)
        source_coll = s.get_one(m.Collection, source.collection_id)
        coll = _portfolio_for_link(svc, s, entity, project, portfolio, source_coll.type)
        link = s.scalar(
            select(m.Link).where(m.Link.portfolio_id == coll.id, m.Link.version_id == source.id)
        )
        if link is None:
            index = (
                s.execute(
                    update(m.Collection)
                    .where(m.Collection.id == coll.id)
                    .values(next_index=m.Collection.next_index + 1, updated_at=m.utcnow())
                    .returning(m.Collection.next_index)
                ).scalar_one()
                - 1
            )
            link = m.Link(
                portfolio_id=coll.id,
                version_id=source.id,
                index=index,
                created_by=svc.principal.name,
            )
            s.add(link)
            s.flush()
            _record(svc, s, history.LINK_ADDED, link, {"index": index})
        move_aliases(s, link, clean)
        if clean:
            _record_aliases(svc, s, link)
        s.flush()
        return membership_record(svc, s, link)

    return svc._write(run)


def _label(s: Session, coll: m.Collection) -> str:
    proj = s.get_one(m.Project, coll.project_id)
    return f"{s.get_one(m.Entity, proj.entity_id).name}/{proj.name}/{coll.name}"


def _record(
    svc: Service, s: Session, action: str, link: m.Link, details: dict[str, object]
) -> None:
    """One event on the source version's history and one on the portfolio's."""
    portfolio = s.get_one(m.Collection, link.portfolio_id)
    source = s.get_one(m.Version, link.version_id)
    common = {"link": str(link.id), **details}
    history.record(
        s,
        svc.principal,
        action,
        collection_id=source.collection_id,
        version_id=source.id,
        details={"portfolio": _label(s, portfolio), **common},
    )
    origin = f"{_label(s, s.get_one(m.Collection, source.collection_id))}:v{source.index}"
    history.record(
        s, svc.principal, action, collection_id=portfolio.id, details={"source": origin, **common}
    )


def _record_aliases(svc: Service, s: Session, link: m.Link) -> None:
    names = s.scalars(select(m.LinkAlias.alias).where(m.LinkAlias.link_id == link.id)).all()
    _record(svc, s, history.LINK_ALIASES, link, {"aliases": list(names)})


def _writable_link(svc: Service, s: Session, link_id: str) -> m.Link:
    link = s.get(m.Link, int(link_id)) if link_id.isdigit() else None
    proj = _portfolio_project(s, link) if link is not None else None
    if link is None or proj is None or not svc._may(s, proj, "read"):
        # A membership the caller may not see answers exactly as a missing one.
        raise ArtifactNotFoundError(f"no portfolio membership {link_id}")
    svc._check(s, proj, "write", "this portfolio")
    return link


def _portfolio_project(s: Session, link: m.Link) -> m.Project:
    portfolio = s.get_one(m.Collection, link.portfolio_id)
    return s.get_one(m.Project, portfolio.project_id)


def unlink(svc: Service, link_id: str) -> None:
    """Remove a membership (and its portfolio aliases); the source version is untouched.

    Raises:
        ArtifactNotFoundError: no such membership (or one the caller may not read).
        PermissionDeniedError: the caller may read but not write the portfolio's project.
    """
    with svc.db.write() as s:
        link = _writable_link(svc, s, link_id)
        _record(svc, s, history.LINK_REMOVED, link, {"index": link.index})
        s.delete(link)


def set_link_aliases(svc: Service, link_id: str, aliases: Sequence[str]) -> VersionRecord:
    """Make ``aliases`` the full set of custom portfolio aliases of one membership.

    Raises:
        ArtifactNotFoundError, PermissionDeniedError: as :func:`unlink`.
        ValidationError: a bad alias.
    """
    clean = naming.clean_aliases(aliases)
    with svc.db.write() as s:
        link = _writable_link(svc, s, link_id)
        s.execute(
            delete(m.LinkAlias).where(
                m.LinkAlias.link_id == link.id, m.LinkAlias.alias.not_in(clean)
            )
        )
        current = set(s.scalars(select(m.LinkAlias.alias).where(m.LinkAlias.link_id == link.id)))
        move_aliases(s, link, [a for a in clean if a not in current])
        s.flush()
        _record_aliases(svc, s, link)
        return membership_record(svc, s, link)


def resolve(s: Session, portfolio: m.Collection, alias: str) -> m.Link | None:
    """The membership ``latest``, ``vK`` or a portfolio alias names (None: no such one)."""
    q = select(m.Link).where(m.Link.portfolio_id == portfolio.id)
    if alias == "latest":
        return _newest(s, portfolio.id)
    if naming.is_version_alias(alias):
        return s.scalar(q.where(m.Link.index == int(alias[1:])))
    return s.scalar(
        q.join(m.LinkAlias, m.LinkAlias.link_id == m.Link.id).where(m.LinkAlias.alias == alias)
    )


def memberships(
    svc: Service,
    s: Session,
    portfolio: m.Collection,
    after_index: int | None,
    limit: int,
    tags: Sequence[str] | None = None,
) -> tuple[list[VersionRecord], int | None]:
    """One page of a portfolio's memberships in index order (of sources with one of ``tags``,
    if given), and the next page's cursor."""
    q = (
        select(m.Link)
        .join(m.Version, m.Version.id == m.Link.version_id)
        .where(m.Link.portfolio_id == portfolio.id, m.Version.state == COMMITTED)
    )
    if after_index is not None:
        q = q.where(m.Link.index > after_index)
    if tags:
        q = q.where(m.Link.version_id.in_(select(m.Tag.version_id).where(m.Tag.tag.in_(tags))))
    rows = s.scalars(q.order_by(m.Link.index).limit(limit + 1)).all()
    out = [membership_record(svc, s, link) for link in rows[:limit]]
    return out, (rows[limit - 1].index if len(rows) > limit else None)


def membership_count(s: Session, portfolio_id: int) -> int:
    return (
        s.scalar(
            select(func.count()).select_from(m.Link).where(m.Link.portfolio_id == portfolio_id)
        )
        or 0
    )


def portfolio_aliases(s: Session, portfolio_id: int) -> list[str]:
    return list(
        s.scalars(
            select(m.LinkAlias.alias)
            .where(m.LinkAlias.portfolio_id == portfolio_id)
            .order_by(m.LinkAlias.id)
        )
    )


def links_of(svc: Service, version_id: str) -> list[VersionRecord]:
    """Every membership of a version in portfolios the caller may read (oldest first).

    Raises:
        ArtifactNotFoundError: no version ``version_id`` the caller may read.
    """
    with svc.db.read() as s:
        source = svc._visible_version(s, version_id)
        out = []
        for link in s.scalars(
            select(m.Link).where(m.Link.version_id == source.id).order_by(m.Link.id)
        ):
            portfolio = s.get_one(m.Collection, link.portfolio_id)
            if svc._may(s, s.get_one(m.Project, portfolio.project_id), "read"):
                out.append(membership_record(svc, s, link))
        return out


def link_names(s: Session, version_pk: int) -> list[str]:
    """``entity/project/portfolio:vK`` of every membership of a version (for error messages)."""
    rows = s.execute(
        select(m.Entity.name, m.Project.name, m.Collection.name, m.Link.index)
        .join(m.Collection, m.Collection.id == m.Link.portfolio_id)
        .join(m.Project, m.Project.id == m.Collection.project_id)
        .join(m.Entity, m.Entity.id == m.Project.entity_id)
        .where(m.Link.version_id == version_pk)
        .order_by(m.Link.id)
    ).all()
    return [f"{e}/{p}/{c}:v{i}" for e, p, c, i in rows]


def membership_of(s: Session, ver: m.Version, link_id: str) -> int:
    """The id of membership ``link_id``, checked to be one of ``ver``.

    Raises:
        ArtifactNotFoundError: no such membership of this version.
    """
    link = s.get(m.Link, int(link_id)) if link_id.isdigit() else None
    if link is None or link.version_id != ver.id:
        raise ArtifactNotFoundError(f"no portfolio membership {link_id} of this version")
    return link.id


def portfolio_record(s: Session, coll: m.Collection, entity: str, project: str) -> CollectionRecord:
    count = membership_count(s, coll.id)
    aliases = portfolio_aliases(s, coll.id)
    return CollectionRecord(
        id=str(coll.id),
        entity=entity,
        project=project,
        name=coll.name,
        type=coll.type,
        description=coll.description,
        created_at=m.as_utc(coll.created_at),
        updated_at=m.as_utc(coll.updated_at),
        version_count=count,
        aliases=("latest", *aliases) if count else tuple(aliases),
        tags=tuple(coll.tags or ()),
        kind=PORTFOLIO,
    )


def _writable_collection(
    svc: Service, s: Session, entity: str, project: str, name: str
) -> m.Collection:
    try:
        proj = svc._project(s, entity, registries.canonical_project(project), create=False)
        svc._check(s, proj, "write", f"project {entity}/{project}")
    except ProjectNotFoundError:
        raise CollectionNotFoundError(f"no artifact named {name!r} in {entity}/{project}") from None
    coll = svc._collection(s, proj, name)
    if coll is None:
        raise CollectionNotFoundError(f"no artifact named {name!r} in {entity}/{project}")
    return coll


def update_collection(
    svc: Service,
    entity: str,
    project: str,
    name: str,
    description: str | None,
    tags: Sequence[str] | None,
) -> CollectionRecord:
    """Set a collection's description and (the full list of) tags; None leaves one as it is.

    Raises:
        CollectionNotFoundError: no such collection the caller may read.
        PermissionDeniedError: the caller may read but not write it.
        ValidationError: a bad description or tag.
    """
    clean_description = naming.check_description(description)
    clean_tags = naming.clean_tags(tags) if tags is not None else None
    with svc.db.write() as s:
        coll = _writable_collection(svc, s, entity, project, name)
        if description is not None:
            coll.description = clean_description
        if clean_tags is not None:
            coll.tags = clean_tags
        coll.updated_at = m.utcnow()
        s.flush()
        proj = s.get_one(m.Project, coll.project_id)
        return svc._collection_record(s, coll, entity, proj.name)


def delete_collection(svc: Service, entity: str, project: str, name: str) -> None:
    """Delete a collection: a portfolio with its memberships (the sources stay), a sequence
    with all its versions (their blobs are left to GC).

    Raises:
        CollectionNotFoundError: no such collection the caller may read.
        PermissionDeniedError: the caller may read but not write it.
        VersionLinkedError: versions of the sequence are linked into portfolios.
    """
    with svc.db.write() as s:
        coll = _writable_collection(svc, s, entity, project, name)
        if coll.kind != PORTFOLIO:
            linked = [
                n
                for pk in s.scalars(select(m.Version.id).where(m.Version.collection_id == coll.id))
                for n in link_names(s, pk)
            ]
            if linked:
                raise VersionLinkedError(
                    f"versions of {name!r} are linked into {', '.join(linked)}; unlink them first",
                    details={"links": linked},
                )
        s.delete(coll)


def readable_through_portfolio(svc: Service, s: Session, ver: m.Version) -> bool:
    """Whether the caller may read a version because a portfolio they may read links it
    (registry readers read what is promoted there, wherever it was logged)."""
    projects = s.scalars(
        select(m.Project)
        .join(m.Collection, m.Collection.project_id == m.Project.id)
        .join(m.Link, m.Link.portfolio_id == m.Collection.id)
        .where(m.Link.version_id == ver.id)
    ).all()
    return any(svc._may(s, p, "read") for p in projects)

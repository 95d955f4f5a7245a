"""The lineage graph: which runs and versions a version or run came from, and what it became.

Nodes are runs and committed versions; an edge says data flowed along it::

    run ──logged──▶ version          (versions.run_id)
    version ──used──▶ run            (run_inputs)

Each edge kind is one function returning a SELECT of ``(src_kind, src_id, dst_kind, dst_id,
edge)`` rows (:data:`EDGE_KINDS`); the walk uses every kind in both orientations. A graph is
ONE recursive query (a recursive CTE, on SQLite and PostgreSQL alike): from the root it follows
edges forwards (``downstream``), backwards (``upstream``) or both walks at once (``both`` is
the union of the two walks, never a zig-zag that would pull in siblings), up to ``depth``
edges. Rows are deduplicated per (node, depth, edge), so a cycle (a run that uses what it
logged) ends at the depth limit. Every step is an index lookup (``ix_versions_run_id``, the
``run_inputs`` keys), so the cost follows the part of the graph reached, not the whole table.

The walk crosses projects the caller may not read; such nodes come back as placeholders
(``hidden``, with no name or id), so the graph keeps its shape without leaking names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, String, and_, cast, func, literal, literal_column, null, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from cairn.core.db import models as m
from cairn.core.db.bulk import among, chunks
from cairn.errors import ValidationError
from cairn.records import COMMITTED, LineageEdge, LineageNode, LineageRecord

if TYPE_CHECKING:
    from cairn.core.service import Service

VERSION = "version"
RUN = "run"
LOGGED = "logged"
USED = "used"
DIRECTIONS = ("upstream", "downstream", "both")
DEFAULT_DEPTH = 10
MAX_DEPTH = 1000

_DOWN = "down"
_UP = "up"


def _kind(name: str) -> Any:
    # A SQL literal rather than a bound parameter, so the planner sees a constant per branch
    # and can skip the branches whose kind cannot match.
    return literal_column(f"'{name}'", String)


def logged_edges() -> Select[Any]:
    """run ──logged──▶ version."""
    v = m.Version
    return select(
        _kind(RUN).label("src_kind"),
        v.run_id.label("src_id"),
        _kind(VERSION).label("dst_kind"),
        v.id.label("dst_id"),
        _kind(LOGGED).label("edge"),
    ).where(v.run_id.is_not(None), v.state == COMMITTED)


def used_edges() -> Select[Any]:
    """version ──used──▶ run."""
    ri, v = m.RunInput, m.Version
    return (
        select(
            _kind(VERSION).label("src_kind"),
            ri.version_id.label("src_id"),
            _kind(RUN).label("dst_kind"),
            ri.run_id.label("dst_id"),
            _kind(USED).label("edge"),
        )
        .join(v, v.id == ri.version_id)
        .where(v.state == COMMITTED)
    )


EDGE_KINDS: tuple[Callable[[], Select[Any]], ...] = (logged_edges, used_edges)


@dataclass(frozen=True)
class _Row:
    kind: str
    pk: int
    direction: str
    edge: str | None
    via_kind: str | None
    via_pk: int | None
    depth: int


def _walk_query(root_kind: str, root_pk: int, direction: str, depth: int) -> Select[Any]:
    branches = []
    for make in EDGE_KINDS:
        e = make().subquery()
        branches.append(
            select(
                e.c.src_kind.label("from_kind"),
                e.c.src_id.label("from_id"),
                e.c.dst_kind.label("to_kind"),
                e.c.dst_id.label("to_id"),
                e.c.edge,
                _kind(_DOWN).label("dir"),
            )
        )
        branches.append(
            select(
                e.c.dst_kind.label("from_kind"),
                e.c.dst_id.label("from_id"),
                e.c.src_kind.label("to_kind"),
                e.c.src_id.label("to_id"),
                e.c.edge,
                _kind(_UP).label("dir"),
            )
        )
    edges = branches[0].union_all(*branches[1:]).subquery("edges")

    dirs = {"upstream": [_UP], "downstream": [_DOWN], "both": [_UP, _DOWN]}[direction]
    starts = [select(_kind(d).label("dir")) for d in dirs]
    start = (starts[0] if len(starts) == 1 else starts[0].union_all(*starts[1:])).subquery()
    anchor = select(
        _kind(root_kind).label("kind"),
        literal(root_pk, Integer).label("id"),
        literal(0, Integer).label("depth"),
        start.c.dir,
        cast(null(), String).label("edge"),
        cast(null(), String).label("via_kind"),
        cast(null(), Integer).label("via_id"),
    )
    walk = anchor.cte("walk", recursive=True)
    step = (
        select(
            edges.c.to_kind,
            edges.c.to_id,
            walk.c.depth + 1,
            walk.c.dir,
            edges.c.edge,
            walk.c.kind,
            walk.c.id,
        )
        .join(
            edges,
            and_(
                edges.c.from_id == walk.c.id,
                edges.c.from_kind == walk.c.kind,
                edges.c.dir == walk.c.dir,
            ),
        )
        .where(walk.c.depth < depth)
    )
    walk = walk.union(step)
    return select(
        walk.c.kind,
        walk.c.id,
        walk.c.dir,
        walk.c.edge,
        walk.c.via_kind,
        walk.c.via_id,
        func.min(walk.c.depth),
    ).group_by(walk.c.kind, walk.c.id, walk.c.dir, walk.c.edge, walk.c.via_kind, walk.c.via_id)


def _check(direction: str, depth: int) -> None:
    if direction not in DIRECTIONS:
        raise ValidationError(
            f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}"
        )
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= MAX_DEPTH:
        raise ValidationError(f"depth must be a whole number from 1 to {MAX_DEPTH}")


def graph(
    s: Session,
    may_read: Callable[[m.Project], bool],
    root: tuple[str, int],
    direction: str,
    depth: int,
) -> LineageRecord:
    """The lineage around ``root`` (a node kind and its row id) as one recursive query.

    ``may_read`` says whether the caller may read a project; nodes in other projects come back
    as placeholders. Raises :class:`~cairn.errors.ValidationError` for a bad direction or depth.
    """
    _check(direction, depth)
    rows = [_Row(*r) for r in s.execute(_walk_query(*root, direction, depth))]
    depths: dict[tuple[str, int], int] = {root: 0}
    for r in rows:
        node = (r.kind, r.pk)
        depths[node] = min(depths.get(node, r.depth), r.depth)
    keys = _keys(s, may_read, depths)
    nodes = sorted(
        (node for node in keys.values()),
        key=lambda n: (n.depth, n.kind, n.hidden, n.key),
    )
    edges: set[LineageEdge] = set()
    for r in rows:
        if r.edge is None or r.via_kind is None or r.via_pk is None:
            continue
        here, there = keys[(r.kind, r.pk)].key, keys[(r.via_kind, r.via_pk)].key
        source, target = (there, here) if r.direction == _DOWN else (here, there)
        edges.add(LineageEdge(source=source, target=target, kind=r.edge))
    return LineageRecord(
        root=keys[root].key,
        direction=direction,
        depth=depth,
        nodes=tuple(nodes),
        edges=tuple(sorted(edges, key=lambda e: (e.source, e.target, e.kind))),
    )


def _keys(
    s: Session, may_read: Callable[[m.Project], bool], depths: dict[tuple[str, int], int]
) -> dict[tuple[str, int], LineageNode]:
    """Every reached node, described (or hidden) for this caller."""
    found: dict[tuple[str, int], LineageNode] = {}
    readable: dict[int, bool] = {}

    def may(project_id: int) -> bool:
        if project_id not in readable:
            readable[project_id] = may_read(s.get_one(m.Project, project_id))
        return readable[project_id]

    version_pks = [pk for kind, pk in depths if kind == VERSION]
    run_pks = [pk for kind, pk in depths if kind == RUN]
    for batch in chunks(version_pks):
        q = (
            select(
                m.Version.id,
                m.Version.public_id,
                m.Version.index,
                m.Collection.name,
                m.Collection.type,
                m.Project.id,
                m.Project.name,
                m.Entity.name,
            )
            .join(m.Collection, m.Collection.id == m.Version.collection_id)
            .join(m.Project, m.Project.id == m.Collection.project_id)
            .join(m.Entity, m.Entity.id == m.Project.entity_id)
            .where(among(s, m.Version.id, list(batch)))
        )
        for pk, public_id, index, coll, type_, proj_id, proj, ent in s.execute(q):
            if may(proj_id):
                found[(VERSION, pk)] = LineageNode(
                    key=f"{VERSION}:{public_id}",
                    kind=VERSION,
                    depth=depths[(VERSION, pk)],
                    id=public_id,
                    entity=ent,
                    project=proj,
                    name=coll,
                    type=type_,
                    index=index,
                )
    for batch in chunks(run_pks):
        rq = (
            select(
                m.Run.id,
                m.Run.public_id,
                m.Run.name,
                m.Run.job_type,
                m.Project.id,
                m.Project.name,
                m.Entity.name,
            )
            .join(m.Project, m.Project.id == m.Run.project_id)
            .join(m.Entity, m.Entity.id == m.Project.entity_id)
            .where(among(s, m.Run.id, list(batch)))
        )
        for pk, public_id, name, job_type, proj_id, proj, ent in s.execute(rq):
            if may(proj_id):
                found[(RUN, pk)] = LineageNode(
                    key=f"{RUN}:{ent}/{proj}/{public_id}",
                    kind=RUN,
                    depth=depths[(RUN, pk)],
                    id=public_id,
                    entity=ent,
                    project=proj,
                    name=name,
                    type=job_type,
                )
    # Placeholders are numbered in an order that does not depend on their names.
    hidden = sorted((n for n in depths if n not in found), key=lambda n: (depths[n], n))
    for i, (kind, pk) in enumerate(hidden, 1):
        found[(kind, pk)] = LineageNode(
            key=f"hidden:{i}", kind=kind, depth=depths[(kind, pk)], hidden=True
        )
    return found


# -- what the faces call -------------------------------------------------------------------------


def of_version(
    svc: Service, version_id: str, *, direction: str = "both", depth: int = DEFAULT_DEPTH
) -> LineageRecord:
    """The lineage around a version. Raises :class:`~cairn.errors.ArtifactNotFoundError` if the
    caller cannot see it, :class:`~cairn.errors.ValidationError` for a bad direction or depth."""
    _check(direction, depth)
    with svc.db.read() as s:
        ver = svc._visible_version(s, version_id)
        return graph(s, _reader(svc, s), (VERSION, ver.id), direction, depth)


def of_run(
    svc: Service,
    entity: str,
    project: str,
    run_id: str,
    *,
    direction: str = "both",
    depth: int = DEFAULT_DEPTH,
) -> LineageRecord:
    """The lineage around a run. Raises :class:`~cairn.errors.RunNotFoundError` if the caller
    cannot read it, :class:`~cairn.errors.ValidationError` for a bad direction or depth."""
    _check(direction, depth)
    with svc.db.read() as s:
        run = svc._run(s, entity, project, run_id, "read")
        return graph(s, _reader(svc, s), (RUN, run.id), direction, depth)


def _reader(svc: Service, s: Session) -> Callable[[m.Project], bool]:
    return lambda project: svc._may(s, project, "read")

"""The projects a caller may read: what ``cairn ls`` with no path lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from cairn.core import permissions
from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.core.db.engine import Database


@dataclass(frozen=True)
class ProjectRecord:
    entity: str
    name: str
    visibility: str
    created_at: datetime
    collections: int

    def to_wire(self) -> dict[str, object]:
        return {
            "entity": self.entity,
            "name": self.name,
            "visibility": self.visibility,
            "created_at": self.created_at.isoformat(),
            "collections": self.collections,
        }


def readable_projects(
    db: Database, who: Principal, entity: str | None = None
) -> list[ProjectRecord]:
    """Every project ``who`` may read (of ``entity`` only, if given), by entity then name.

    Projects the caller may not read are left out, exactly as if they did not exist.
    """
    counts = (
        select(m.Collection.project_id, func.count().label("n"))
        .group_by(m.Collection.project_id)
        .subquery()
    )
    q = (
        select(m.Entity.name, m.Project, func.coalesce(counts.c.n, 0))
        .join(m.Entity, m.Entity.id == m.Project.entity_id)
        .outerjoin(counts, counts.c.project_id == m.Project.id)
    )
    if not who.is_superuser:
        q = q.where(permissions.readable_projects(who))
    if entity is not None:
        q = q.where(m.Entity.name == entity)
    with db.read() as s:
        rows = s.execute(q.order_by(m.Entity.name, m.Project.name)).all()
        return [
            ProjectRecord(e, p.name, p.visibility, m.as_utc(p.created_at), int(n))
            for e, p, n in rows
        ]

"""The projects the caller may read: ``cairn ls`` with no path.

Not a :class:`~cairn.backend.base.Backend` method yet (that protocol is being reworked): the
HTTP backend asks ``GET /api/v1/projects``, the embedded store answers from its own core.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cairn.backend.base import Backend
from cairn.core.projects import ProjectRecord, readable_projects


def list_projects(backend: Backend, entity: str | None = None) -> list[ProjectRecord]:
    """Every project the backend's caller may read (of ``entity`` only, if given)."""
    from cairn.backend.http import HttpBackend
    from cairn.backend.local import LocalBackend

    if isinstance(backend, LocalBackend):  # the embedded store holds its core service
        svc = backend.service
        return readable_projects(svc.db, svc.principal, entity)

    assert isinstance(backend, HttpBackend)
    params = {"entity": entity} if entity else None
    rows: list[dict[str, Any]] = backend._json("GET", "/projects", params=params)["projects"]
    return [
        ProjectRecord(
            entity=r["entity"],
            name=r["name"],
            visibility=r["visibility"],
            created_at=datetime.fromisoformat(r["created_at"]),
            collections=int(r["collections"]),
        )
        for r in rows
    ]

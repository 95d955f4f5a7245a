"""Who may read and write which project.

A superuser (the embedded store's single local user, or a server admin) may do anything.
Anyone else needs a role in the project's entity: viewer reads, member writes, admin
administers. A project marked ``public`` is readable by every authenticated user.
Callers who may not read a project are told it does not exist (no existence leaks); callers
who may read but not write get :class:`~cairn.errors.PermissionDeniedError`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from cairn.core.access import NEEDED_RANK, READ, ROLE_RANK, Principal
from cairn.core.db import models as m
from cairn.errors import NotFoundError, PermissionDeniedError, ProjectNotFoundError


def _entity_name(s: Session, project: m.Project) -> str:
    return s.get_one(m.Entity, project.entity_id).name


def _entities_where(who: Principal, action: str) -> list[str]:
    """The entities in whose projects ``who``'s role allows ``action`` (public ones aside)."""
    return [e for e, role in who.roles.items() if ROLE_RANK[role] >= NEEDED_RANK[action]]


def allowed(s: Session, who: Principal, project: m.Project, action: str) -> bool:
    if who.is_superuser:  # no need to look up the entity's name
        return True
    return allowed_in(who, _entity_name(s, project), project.visibility, action)


def allowed_in(who: Principal, entity: str, visibility: str, action: str) -> bool:
    """The rule, for a project known by its entity's name and its visibility."""
    if who.is_superuser:
        return True
    if action == READ and visibility == "public":
        return True
    return entity in _entities_where(who, action)


def readable_projects(who: Principal) -> ColumnElement[bool]:
    """:func:`allowed` for ``read``, as SQL over ``projects`` joined to their ``entities``.

    For non-superusers (a superuser's queries need no filter).
    """
    return (m.Project.visibility == "public") | m.Entity.name.in_(_entities_where(who, READ))


def require(s: Session, who: Principal, project: m.Project, action: str, what: str) -> None:
    if allowed(s, who, project, action):
        return
    if not allowed(s, who, project, "read"):
        # The class a missing project raises, so callers that translate "no such project"
        # (resolve, get_collection, runs) treat both alike: no existence leak.
        raise ProjectNotFoundError(f"{what} not found")
    raise PermissionDeniedError(f"you may read but not {action} {what}")


def require_create_entity(who: Principal, name: str) -> None:
    if not who.is_superuser:
        raise NotFoundError(f"entity {name!r} not found")


def require_create_project(s: Session, who: Principal, entity: m.Entity, project: str) -> None:
    """Raises ProjectNotFoundError (as :func:`require` does for a private project: asking
    cannot tell one from the other) or PermissionDeniedError (a viewer)."""
    if who.is_superuser:
        return
    role = who.role_in(entity.name)
    if role is None:
        raise ProjectNotFoundError(f"project {entity.name}/{project} not found")
    if ROLE_RANK[role] < ROLE_RANK["member"]:
        raise PermissionDeniedError(f"viewers cannot create projects in {entity.name!r}")


def require_entity_admin(who: Principal, entity: m.Entity) -> None:
    """Entity-wide settings (a default TTL) are an admin's of that entity, or a superuser's."""
    if who.is_superuser:
        return
    role = who.role_in(entity.name)
    if role is None:
        raise NotFoundError(f"entity {entity.name!r} not found")
    if ROLE_RANK[role] < ROLE_RANK["admin"]:
        raise PermissionDeniedError(f"only an admin of {entity.name!r} may change its settings")

"""Time to live: how long a version is kept, and taking away the versions whose time is up.

A version's TTL is either its own (``versions.ttl_inherit`` false: ``ttl_seconds`` seconds, or
NULL for *never*) or inherited from its entity (``entities.default_ttl_seconds``; NULL: never).
It expires that long after it was created. On the wire it is W&B's single number: seconds, or
:data:`~cairn.records.TTL_INHERIT` / :data:`~cairn.records.TTL_NEVER`.

Expiry soft-deletes the version as ``delete()`` does (:func:`cairn.core.deletion.retire`); its
blobs are left to the two-phase GC (:mod:`cairn.core.gc`). A version linked into a portfolio or
registry does not expire while it is linked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from cairn import events
from cairn.core import deletion, history
from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.core.db.locks import try_hold_maintenance
from cairn.errors import PermissionDeniedError, ValidationError
from cairn.records import COMMITTED, TTL_INHERIT, TTL_NEVER, VersionRecord

if TYPE_CHECKING:
    from cairn.core.service import Service


def check(value: object) -> int:
    """A wire TTL: a positive number of seconds, TTL_INHERIT or TTL_NEVER.

    Raises:
        ValidationError: anything else (a zero or negative duration among them).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"ttl must be a whole number of seconds, got {value!r}")
    if value > 0 or value in (TTL_INHERIT, TTL_NEVER):
        return value
    raise ValidationError(f"artifact TTL has to be positive, got {value} seconds")


def set_ttl(
    ver: m.Version, value: int, s: Session | None = None, who: Principal | None = None
) -> None:
    """Give a version its own TTL, no TTL (never expires), or the entity's (TTL_INHERIT).

    With a session and a caller, a change of a committed version is recorded in its history.
    """
    value = check(value)
    before = {"seconds": ver.ttl_seconds, "inherit": bool(ver.ttl_inherit)}
    ver.ttl_inherit = value == TTL_INHERIT
    ver.ttl_seconds = value if value > 0 else None
    after = {"seconds": ver.ttl_seconds, "inherit": ver.ttl_inherit}
    if s is not None and who is not None and before != after:
        history.record(
            s,
            who,
            history.TTL_CHANGED,
            collection_id=ver.collection_id,
            version_id=ver.id,
            details={"before": before, "after": after},
        )


def effective_seconds(ver: m.Version, entity: m.Entity) -> int | None:
    """The TTL in effect for a version (None: it never expires)."""
    return effective(ver.ttl_inherit, ver.ttl_seconds, entity.default_ttl_seconds)


def effective(inherit: bool, own: int | None, entity_default: int | None) -> int | None:
    """The rule of :func:`effective_seconds`, for a version and entity known by their values."""
    return entity_default if inherit else own


def set_default_ttl(svc: Service, entity: str, seconds: int | None) -> None:
    """Set the TTL that an entity's versions inherit (None: they never expire).

    Raises:
        ValidationError: a non-positive duration.
        NotFoundError: no such entity (or one the caller has no role in).
        PermissionDeniedError: the caller is not an admin of the entity.
    """
    from cairn.core import permissions

    if seconds is not None:
        check(seconds)
        if seconds <= 0:
            raise ValidationError(f"a default TTL has to be positive, got {seconds} seconds")
    with svc.db.write() as s:
        ent = svc._entity(s, entity, create=svc.principal.is_superuser)
        if ent is None:
            permissions.require_create_entity(svc.principal, entity)  # raises: no leak
            raise AssertionError("unreachable")
        permissions.require_entity_admin(svc.principal, ent)
        ent.default_ttl_seconds = seconds


def get_default_ttl(svc: Service, entity: str) -> int | None:
    """The TTL an entity's versions inherit (None: never expire).

    Raises:
        NotFoundError: no such entity (or one the caller has no role in).
    """
    from cairn.core import permissions

    with svc.db.read() as s:
        ent = svc._entity(s, entity, create=False)
        if ent is None or not (
            svc.principal.is_superuser or svc.principal.role_in(entity) is not None
        ):
            permissions.require_create_entity(svc.principal, entity)
            return None  # the local superuser, before the entity exists
        return ent.default_ttl_seconds


def _expired(s: Session, now: datetime) -> list[m.Version]:
    linked = exists().where(m.Link.version_id == m.Version.id)
    rows = s.execute(
        select(m.Version, m.Entity)
        .join(m.Collection, m.Collection.id == m.Version.collection_id)
        .join(m.Project, m.Project.id == m.Collection.project_id)
        .join(m.Entity, m.Entity.id == m.Project.entity_id)
        .where(
            m.Version.state == COMMITTED,
            ~linked,
            or_(
                m.Version.ttl_inherit.is_(False) & m.Version.ttl_seconds.is_not(None),
                m.Version.ttl_inherit.is_(True) & m.Entity.default_ttl_seconds.is_not(None),
            ),
        )
        .order_by(m.Version.id)
    ).all()
    out = []
    for ver, ent in rows:
        seconds = effective_seconds(ver, ent)
        if seconds is not None and m.as_utc(ver.created_at) + timedelta(seconds=seconds) <= now:
            out.append(ver)
    return out


def expire(
    svc: Service, *, now: datetime | None = None, dry_run: bool = False
) -> list[VersionRecord]:
    """Delete every committed version whose TTL has passed (not while linked); return them.

    With ``dry_run`` nothing changes: the answer is what would go. Only a superuser (the
    embedded store's user, a server admin, the server's maintenance task) may run it: it
    looks at every project. While another replica is expiring versions, this answers ``[]``.

    Raises:
        PermissionDeniedError: the caller is not a superuser.
    """
    if not svc.principal.is_superuser:
        raise PermissionDeniedError("expiring versions touches every project: only an admin may")
    now = now or m.utcnow()
    with svc.db.write() as s:
        if not dry_run and not try_hold_maintenance(s):
            return []
        gone = _expired(s, now)
        records = [svc._version_record(s, v) for v in gone]
        if not dry_run:
            for ver in gone:
                history.version_deleted(s, svc.principal, ver, history.VERSION_EXPIRED)
                deletion.retire(s, ver)
    if not dry_run:
        events.emit(events.VERSIONS_EXPIRED, len(gone))
    return records

"""Where a collection's ``latest`` alias points.

``latest`` follows the newest committed version, with one exception W&B code relies on: a user
may take it off (``artifact.aliases.remove("latest")`` or ``artifact.aliases = ["x"]``, then
``save()``), and the collection then has no ``latest`` until the next log moves it onto the new
version (or onto the same one, when the same content is logged again).

Taking it off is stored as a row of the aliases table named :data:`REMOVED` on the version that
was newest. No user alias can have that name (``:`` is refused in aliases), and the row only
counts while its version is still the newest committed one, so a newer version brings
``latest`` back with no further write. Every reader of aliases leaves that row out
(:func:`user_aliases`), so it never reaches a record or the wire.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from cairn.core.db import models as m
from cairn.records import COMMITTED

REMOVED = ":latest-removed"


def user_aliases() -> ColumnElement[bool]:
    """A filter on ``m.Alias`` rows keeping the ones users see (not the :data:`REMOVED` mark)."""
    return m.Alias.alias != REMOVED


def newest(s: Session, collection_id: int) -> m.Version | None:
    """The newest committed version (what ``latest`` follows, and what a log deduplicates)."""
    return s.scalar(
        select(m.Version)
        .where(m.Version.collection_id == collection_id, m.Version.state == COMMITTED)
        .order_by(m.Version.index.desc())
        .limit(1)
    )


def target(s: Session, collection_id: int) -> m.Version | None:
    """The version ``latest`` names: the newest, unless ``latest`` was taken off it."""
    ver = newest(s, collection_id)
    if ver is None:
        return None
    removed = s.scalar(
        select(m.Alias.id).where(m.Alias.version_id == ver.id, m.Alias.alias == REMOVED)
    )
    return None if removed is not None else ver


def set_on(s: Session, ver: m.Version, keep: bool) -> None:
    """Keep ``latest`` on ``ver`` or take it off, if ``ver`` is the newest version.

    ``latest`` always follows the newest version, so asking for it on an older one (or taking
    it off an older one, which does not hold it) changes nothing.
    """
    current = newest(s, ver.collection_id)
    if current is None or current.id != ver.id:
        return
    clear(s, ver.collection_id)
    if not keep:
        s.add(m.Alias(collection_id=ver.collection_id, alias=REMOVED, version_id=ver.id))
    s.flush()


def clear(s: Session, collection_id: int) -> None:
    """Bring ``latest`` back onto the newest version (a new log does)."""
    s.execute(
        delete(m.Alias).where(m.Alias.collection_id == collection_id, m.Alias.alias == REMOVED)
    )

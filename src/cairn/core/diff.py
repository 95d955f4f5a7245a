"""How one version differs from another, computed in the database.

Each committed version has one ``version_files`` row per entry, keyed by (version, path)
(:class:`~cairn.core.db.models.VersionFile`). A diff of ``a`` to ``b`` joins the two versions'
rows on path, so neither manifest is ever loaded:

* :func:`summary` counts entries added (in ``b`` only), removed (in ``a`` only), changed (in
  both, another digest) and unchanged in one aggregate over ``a``'s rows left-joined to ``b``'s
  (plus a count of ``b``'s), and compares the two versions' metadata, description, type,
  aliases and tags;
* :func:`entries` returns the added, removed and changed entries a page at a time in the
  database's path order, with the cursor for the next page: a million-entry diff streams in
  bounded memory on both sides of the wire.

The two versions may belong to different collections (or projects); the caller must be able to
read both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from cairn.core.db import models as m
from cairn.records import DiffEntry, DiffSummary, ValueChange, VersionRecord

if TYPE_CHECKING:
    from cairn.core.service import Service

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
MAX_PAGE = 10_000


def summary(svc: Service, a_id: str, b_id: str) -> DiffSummary:
    """Counts and value changes from version ``a`` to version ``b``.

    Raises :class:`~cairn.errors.ArtifactNotFoundError` if the caller cannot see either.
    """
    with svc.db.read() as s:
        a = svc._visible_version(s, a_id)
        b = svc._visible_version(s, b_id)
        fa, fb = aliased(m.VersionFile), aliased(m.VersionFile)
        total_a, matched, changed = s.execute(
            select(
                func.count(),
                func.count(fb.path),
                func.coalesce(
                    func.sum(case((and_(fb.path.is_not(None), fb.digest != fa.digest), 1))), 0
                ),
            )
            .select_from(fa)
            .outerjoin(fb, and_(fb.version_id == b.id, fb.path == fa.path))
            .where(fa.version_id == a.id)
        ).one()
        total_b = s.scalar(
            select(func.count()).select_from(m.VersionFile).where(m.VersionFile.version_id == b.id)
        )
        ra, rb = svc._version_record(s, a), svc._version_record(s, b)
    return DiffSummary(
        a=a_id,
        b=b_id,
        added=int(total_b or 0) - int(matched),
        removed=int(total_a) - int(matched),
        changed=int(changed),
        unchanged=int(matched) - int(changed),
        metadata=_value_changes(ra.metadata, rb.metadata),
        fields=_field_changes(ra, rb),
    )


def entries(
    svc: Service, a_id: str, b_id: str, *, after: str | None = None, limit: int = 1000
) -> tuple[list[DiffEntry], str | None]:
    """One page of the entries that differ, in path order, and the ``after`` of the next page
    (None on the last). Raises :class:`~cairn.errors.ArtifactNotFoundError` if the caller cannot
    see either version."""
    limit = max(1, min(int(limit), MAX_PAGE))
    with svc.db.read() as s:
        a = svc._visible_version(s, a_id)
        b = svc._visible_version(s, b_id)
        rows = _page(s, a.id, b.id, after, limit + 1)
    page = [
        DiffEntry(
            path=path,
            status=status,
            old_digest=old_digest,
            old_size=old_size,
            new_digest=new_digest,
            new_size=new_size,
        )
        for path, status, old_digest, old_size, new_digest, new_size in rows[:limit]
    ]
    return page, (page[-1].path if len(rows) > limit else None)


def _page(s: Session, a_pk: int, b_pk: int, after: str | None, n: int) -> list[Any]:
    fa, fb = aliased(m.VersionFile), aliased(m.VersionFile)
    # In a: removed (no row in b) or changed (another digest in b).
    gone_or_changed = (
        select(
            fa.path.label("path"),
            case(
                (fb.path.is_(None), literal_column(f"'{REMOVED}'", String)),
                else_=literal_column(f"'{CHANGED}'", String),
            ).label("status"),
            fa.digest.label("old_digest"),
            fa.size.label("old_size"),
            fb.digest.label("new_digest"),
            fb.size.label("new_size"),
        )
        .select_from(fa)
        .outerjoin(fb, and_(fb.version_id == b_pk, fb.path == fa.path))
        .where(fa.version_id == a_pk, or_(fb.path.is_(None), fb.digest != fa.digest))
    )
    # In b, not in a (added), or changed: changed again, which the merge below drops. Asking
    # for the changed ones too is what makes PostgreSQL walk b's path index in order and stop
    # after a page, as on a's side; added alone is so rare to its estimates that it hashes
    # every remaining row of both versions instead, on every page.
    fa2, fb2 = aliased(m.VersionFile), aliased(m.VersionFile)
    added = (
        select(
            fb2.path.label("path"),
            case(
                (fa2.path.is_(None), literal_column(f"'{ADDED}'", String)),
                else_=literal_column(f"'{CHANGED}'", String),
            ).label("status"),
            cast(null(), Text).label("old_digest"),
            cast(null(), BigInteger).label("old_size"),
            fb2.digest.label("new_digest"),
            fb2.size.label("new_size"),
        )
        .select_from(fb2)
        .outerjoin(fa2, and_(fa2.version_id == a_pk, fa2.path == fb2.path))
        .where(fb2.version_id == b_pk, or_(fa2.path.is_(None), fa2.digest != fb2.digest))
    )
    if after is not None:
        gone_or_changed = gone_or_changed.where(fa.path > after)
        added = added.where(fb2.path > after)
    # Each side ordered and limited on its own, so the database walks both versions' path
    # index in order and stops after a page (a join of the whole remainders per page re-read
    # every row left, page after page); then merged and ordered by the database, so the
    # cursor compares paths the way it does (PostgreSQL's collation need not be Python's).
    first = gone_or_changed.order_by(fa.path).limit(n).subquery()
    second = added.order_by(fb2.path).limit(n).subquery()
    # Each side is complete up to its last path, so the first n of the merge are exact.
    both = union_all(select(first), select(second).where(second.c.status == ADDED)).subquery()
    return list(s.execute(select(both).order_by(both.c.path).limit(n)).all())


def _value_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[ValueChange, ...]:
    out = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            out.append(ValueChange(key=key, status=REMOVED, old=old[key]))
        elif key not in old:
            out.append(ValueChange(key=key, status=ADDED, new=new[key]))
        elif old[key] != new[key]:
            out.append(ValueChange(key=key, status=CHANGED, old=old[key], new=new[key]))
    return tuple(out)


def _field_changes(a: VersionRecord, b: VersionRecord) -> tuple[ValueChange, ...]:
    return _value_changes(
        {
            "description": a.description,
            "type": a.type,
            "aliases": list(a.aliases),
            "tags": list(a.tags),
        },
        {
            "description": b.description,
            "type": b.type,
            "aliases": list(b.aliases),
            "tags": list(b.tags),
        },
    )

"""Soft deletion of a version: the one way a version goes, whether by ``delete()`` or by TTL."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cairn.core.db import models as m
from cairn.records import DELETED


def retire(s: Session, ver: m.Version) -> None:
    """Mark a version DELETED: its aliases and path index go, its index is never reused, and
    its blobs become unreferenced for GC (:mod:`cairn.core.gc`). Memberships of it in
    portfolios go too (callers decide first whether that is allowed)."""
    s.execute(delete(m.Alias).where(m.Alias.version_id == ver.id))
    s.execute(delete(m.VersionFile).where(m.VersionFile.version_id == ver.id))
    s.execute(delete(m.Link).where(m.Link.version_id == ver.id))
    ver.state = DELETED
    ver.updated_at = m.utcnow()

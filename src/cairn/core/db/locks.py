"""The one lock between GC and everything that makes blobs used.

GC decides a blob is unreferenced and takes it away; a commit, an upsert or an upload makes a
blob referenced or present. The two must never interleave, or GC could take a blob that a
transaction still in flight is about to use. So each such transaction holds the lock below:
shared by commits, upserts and uploads (which then never wait for each other), exclusive by
GC's steps that condemn, delete or remove objects.

On PostgreSQL it is a transaction-scoped advisory lock — one cheap call per transaction, where
locking every blob row a 20,000-file commit names would write to 20,000 rows. SQLite runs one
write transaction at a time (``BEGIN IMMEDIATE``), which is already exclusive, so there is
nothing to take.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

BLOB_USE_LOCK = 0x636169726E01  # a fixed key of our own: "cairn", 1


def hold_blob_use(s: Session, *, exclusive: bool = False) -> None:
    """Take the blob-use lock until the end of the transaction ``s`` (see the module)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    s.execute(text(f"SELECT {fn}(:key)"), {"key": BLOB_USE_LOCK})


MAINTENANCE_LOCK = 0x636169726E02  # "cairn", 2: one replica at a time runs maintenance


def try_hold_maintenance(s: Session) -> bool:
    """Take the maintenance lock until the end of ``s`` if no other replica holds it.

    False: another replica is running the same maintenance now, so this one skips it. SQLite
    has one writer at a time already (and a single server), so there it is always True.
    """
    if s.get_bind().dialect.name != "postgresql":
        return True
    got = s.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": MAINTENANCE_LOCK})
    return bool(got)

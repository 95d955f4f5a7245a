"""Proof of possession: which blobs a caller may name in a commit, and which it may read.

Blobs are shared by content across every project of a server, so knowing (or guessing) a
digest must give nothing. A caller *holds* a blob only if

1. a committed version the caller may read names it
   (:func:`cairn.core.transfer.access.readable`, the one rule for reading a blob), or
2. the caller's account uploaded its bytes and the server verified them (a
   :class:`~cairn.core.db.models.BlobUpload` row, written by :func:`record`).

Entries that writers already added to a shared pending version were checked when added, so a
commit of that version does not ask again (:meth:`cairn.core.service.Service.commit_version`).

Everything else is *missing*, whether or not the store has the bytes: ``/blobs/missing`` says
so, a commit naming it is refused as missing, and the client uploads it. The upload is verified
and recorded, but a blob the store already holds is not stored a second time
(:class:`~cairn.core.storage.Storage`). Reads — one blob, pack streams, ranged pack reads and
presigned URLs — are granted for :func:`readable` blobs only.

So that neither status nor timing tells "someone else's" from "nobody's", every answer runs
the same queries for every digest asked about and exits early for none. A superuser (the
embedded store's single local user, a server admin) holds every blob.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.core.db.bulk import among, bulk_insert, chunks
from cairn.core.transfer.access import readable


def uploaded(s: Session, who: Principal, digests: Sequence[str]) -> set[str]:
    """Which of ``digests`` the account of ``who`` uploaded (verified) and the store still has."""
    wanted = list(dict.fromkeys(digests))
    if who.is_superuser:
        return set(wanted)
    out: set[str] = set()
    for chunk in chunks(wanted):
        out.update(
            s.scalars(
                select(m.BlobUpload.digest).where(
                    m.BlobUpload.account == who.name, among(s, m.BlobUpload.digest, chunk)
                )
            )
        )
    return out


def held(s: Session, who: Principal, digests: Sequence[str]) -> set[str]:
    """Which of ``digests`` ``who`` may name in a commit.

    Those the caller uploaded need no second question. Which those are is the caller's own
    business, so skipping them tells it nothing; every other digest — another project's or
    nobody's alike — gets the same :func:`readable` query.
    """
    mine = uploaded(s, who, digests)
    return mine | readable(s, who, [d for d in digests if d not in mine])


def record(s: Session, who: Principal, digests: Iterable[str]) -> None:
    """Remember, in the write transaction ``s``, that ``who`` uploaded these verified blobs.

    Their blob rows must exist in ``s`` already (admitted in the same transaction).
    """
    if who.is_superuser:
        return  # holds everything anyway
    wanted = list(dict.fromkeys(digests))
    known: set[str] = set()
    for chunk in chunks(wanted):
        known.update(
            s.scalars(
                select(m.BlobUpload.digest).where(
                    m.BlobUpload.account == who.name, among(s, m.BlobUpload.digest, chunk)
                )
            )
        )
    now = m.utcnow()
    bulk_insert(
        s,
        m.BlobUpload,
        ({"account": who.name, "digest": d, "created_at": now} for d in wanted if d not in known),
    )


__all__ = ["held", "readable", "record", "uploaded"]

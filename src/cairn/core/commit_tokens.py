"""Idempotent commits: a client's key for a commit, and the version that commit made.

A client sends a fresh key with each commit (``Idempotency-Key``) and the same key when it
retries that commit. The commit's transaction stores the key with the version it made (or
the latest version it was deduplicated into); a retry whose first attempt succeeded, say just
before the server died, then finds that version here and is answered with it, instead of
being told the version is no longer PENDING.
"""

from __future__ import annotations

import hmac

from sqlalchemy.orm import Session

from cairn.core.db import models as m
from cairn.errors import ValidationError

MAX_TOKEN = 128


def check(token: str | None) -> str | None:
    """The token, if it is one (1 to 128 printable ASCII characters).

    Raises:
        ValidationError: it is empty, too long, or holds other characters.
    """
    if token is None:
        return None
    if not 0 < len(token) <= MAX_TOKEN or not all(33 <= ord(c) < 127 for c in token):
        raise ValidationError(
            f"an idempotency key is 1 to {MAX_TOKEN} printable ASCII characters",
            details={"limit": MAX_TOKEN},
        )
    return token


def remember(
    s: Session, pending_id: str, token: str | None, version_pk: int, *, deduplicated: bool
) -> None:
    """Record in this (commit) transaction that ``pending_id`` committed as ``version_pk``."""
    if token is not None:
        s.add(
            m.CommitToken(
                pending_id=pending_id,
                token=token,
                version_id=version_pk,
                deduplicated=deduplicated,
            )
        )


def find(s: Session, pending_id: str, token: str) -> tuple[m.Version, bool] | None:
    """The version an earlier commit of ``pending_id`` with this token made, and whether it
    was deduplicated; None if there was none (or it was deleted since)."""
    row = s.get(m.CommitToken, pending_id)
    if row is None or not hmac.compare_digest(row.token, token):
        return None
    ver = s.get(m.Version, row.version_id)
    return (ver, row.deduplicated) if ver is not None else None

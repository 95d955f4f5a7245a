"""Many rows at once: Core executemany in bounded chunks.

The ORM's bulk path costs several times more per row, and a million rows should never exist as
one list (or one statement with a million parameters).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from cairn.core.db.models import Base

T = TypeVar("T")
BATCH = 5000


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (for ``IN (...)`` lists)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def bulk_insert(s: Session, model: type[Base], rows: Iterable[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``model``'s table in the session's transaction, a chunk at a time."""
    conn = s.connection()
    table = cast(Table, model.__table__)
    it = iter(rows)
    while chunk := list(itertools.islice(it, BATCH)):
        conn.execute(insert(table), chunk)

"""Many rows at once: bounded chunks, array parameters and COPY on PostgreSQL.

Versions of 20,000 files mean statements about 20,000 rows. Two things dominate their cost
unless handled here (measured with py-spy on a server committing workload W1):

* ``IN (...)`` with thousands of bound parameters: psycopg rewrites the placeholders of such
  long statements on every execution. On PostgreSQL :func:`among` sends one array parameter
  instead (``= ANY(%s)``);
* executemany ``INSERT``: COPY moves the same rows several times faster (:func:`bulk_insert`).

The ORM's bulk path costs several times more per row than either, and a million rows never
exist as one list or one statement.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, ColumnElement, Table, any_, func, insert, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from cairn.core.db.models import Base

T = TypeVar("T")
BATCH = 5000


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size`` (for ``IN (...)`` lists)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def among(
    s: Session, column: InstrumentedAttribute[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN values`` as one bound parameter, however long ``values`` is.

    PostgreSQL takes an array (``= ANY(%s)``); SQLite a JSON array read by ``json_each``
    once the list is longer than a batch. A plain ``IN (?, ?, ...)`` of a user-sized list
    (100,000 names in one files query) would pass both engines' limits on bound parameters
    (65,535 and 32,766) and fail.
    """
    if is_postgres(s):
        from sqlalchemy.dialects.postgresql import ARRAY  # only where it is used (~40 ms)

        return column == any_(literal(list(values), ARRAY(column.type)))
    if len(values) > BATCH:
        each = func.json_each(literal(json.dumps(list(values)))).table_valued("value")
        return column.in_(select(each.c.value))
    return column.in_(values)


def bulk_insert(s: Session, model: type[Base], rows: Iterable[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``model``'s table in the session's transaction.

    Every row has the same keys (column names); columns left out take their defaults.
    """
    table = cast(Table, model.__table__)
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return
    conn = s.connection()
    if conn.dialect.name != "postgresql":
        it = itertools.chain([first], it)
        while chunk := list(itertools.islice(it, BATCH)):
            conn.execute(insert(table), chunk)
        return
    # COPY fills no Python-side defaults: add them, computed once for the whole batch.
    defaults: dict[str, Any] = {}
    for col in table.columns:
        if col.name not in first and col.default is not None and not col.primary_key:
            arg = col.default.arg  # type: ignore[attr-defined]
            defaults[col.name] = arg(None) if callable(arg) else arg
    names = list(first) + list(defaults)
    as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
    columns = ", ".join(f'"{n}"' for n in names)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in itertools.chain([first], it):
                values = {**row, **defaults}
                copy.write_row(
                    [
                        json.dumps(values[n])
                        if n in as_json and values[n] is not None
                        else values[n]
                        for n in names
                    ]
                )
    finally:
        cursor.close()

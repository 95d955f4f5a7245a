"""W&B's run filters (MongoDB-style dicts, as ``Api().runs(path, filters=...)`` takes them).

Fields: ``name`` (the run id, as in W&B), ``display_name``, ``state``, ``group``,
``job_type``/``jobType``, ``tags``, ``notes``, ``created_at``/``createdAt``, ``config.<key>``
(``config.<key>.value`` too, W&B's stored form) and ``summary_metrics.<key>`` (or
``summary.<key>``). Operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex``, and
``$and $or $nor`` over lists of filters. A list field (``tags``) matches when any of its
items does, as in MongoDB.

:func:`sql_prefilter` turns the parts that are plain columns into SQL, so the database narrows
the candidates; :func:`matches` then decides every run exactly (JSON fields are compared in
Python, which is the same on SQLite and PostgreSQL; number and string comparisons on top-level
config and summary keys are also put in SQL, to narrow the candidates).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, exists, func, literal, or_, select

from cairn.core.db import models as m
from cairn.errors import ValidationError

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}
_OPERATORS = {"$eq", "$ne", "$in", "$nin", "$exists", "$regex", *_COMPARE}
_MISSING = object()


def check(filters: object) -> dict[str, Any]:
    """The filter as a dict, its operators checked.

    Raises:
        ValidationError: not a dict, or an unknown ``$`` operator.
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ValidationError(f"filters must be a dict, got {type(filters).__name__}")
    for key, value in filters.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list):
                raise ValidationError(f"{key} takes a list of filters")
            for sub in value:
                check(sub)
        elif key.startswith("$"):
            raise ValidationError(f"unknown filter operator {key!r}")
        elif isinstance(value, Mapping) and any(str(k).startswith("$") for k in value):
            unknown = [k for k in value if k not in _OPERATORS]
            if unknown:
                raise ValidationError(f"unknown filter operator {unknown[0]!r} on {key!r}")
    return dict(filters)


def _resolve(doc: Any, parts: list[str]) -> Any:
    """Walk ``parts`` into nested dicts, trying the longest dotted key first at each level
    (a logged ``"a.b"`` key and a nested ``{"a": {"b": ...}}`` both answer ``a.b``)."""
    if not parts:
        return doc
    if not isinstance(doc, Mapping):
        return _MISSING
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in doc:
            found = _resolve(doc[key], parts[cut:])
            if found is not _MISSING:
                return found
    return _MISSING


def _field(doc: Mapping[str, Any], path: str) -> Any:
    head, _, rest = path.partition(".")
    if head == "summary":
        head = "summary_metrics"
    if head in ("config", "summary_metrics") and rest:
        parts = rest.split(".")
        found = _resolve(doc[head], parts)
        if found is _MISSING and head == "config" and parts[-1] == "value" and len(parts) > 1:
            found = _resolve(doc[head], parts[:-1])  # W&B's {"lr": {"value": 0.1}} spelling
        return found
    aliases = {"jobType": "job_type", "createdAt": "created_at", "displayName": "display_name"}
    return doc.get(aliases.get(path, path), _MISSING)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or a is None or b is None:
        return False
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return _COMPARE[op](a, b)
    if isinstance(a, str) and isinstance(b, str):
        return _COMPARE[op](a, b)
    return False


def _test(value: Any, cond: Any) -> bool:
    """Does one field's value satisfy ``cond`` (a literal or a dict of operators)?"""
    items = value if isinstance(value, list) else [value]
    if isinstance(cond, Mapping) and any(str(k).startswith("$") for k in cond):
        for op, arg in cond.items():
            if op == "$exists":
                ok = (value is not _MISSING and value is not None) == bool(arg)
            elif op == "$eq":
                ok = any(_same(v, arg) for v in items)
            elif op == "$ne":
                ok = not any(_same(v, arg) for v in items)
            elif op == "$in":
                ok = any(_same(v, a) for v in items for a in arg)
            elif op == "$nin":
                ok = not any(_same(v, a) for v in items for a in arg)
            elif op == "$regex":
                ok = any(isinstance(v, str) and re.search(str(arg), v) for v in items)
            else:
                ok = any(_compare(op, v, arg) for v in items)
            if not ok:
                return False
        return True
    return any(_same(v, cond) for v in items) or _same(value, cond)


def matches(doc: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Does the run ``doc`` (see :func:`document`) pass ``filters``?"""
    for key, cond in filters.items():
        if key == "$and":
            ok = all(matches(doc, f) for f in cond)
        elif key == "$or":
            ok = any(matches(doc, f) for f in cond)
        elif key == "$nor":
            ok = not any(matches(doc, f) for f in cond)
        else:
            ok = _test(_field(doc, key), cond)
        if not ok:
            return False
    return True


def document(run: m.Run, tags: list[str]) -> dict[str, Any]:
    """The fields a filter can name, for one run."""
    return {
        "name": run.public_id,
        "display_name": run.name,
        "state": run.state,
        "group": run.group,
        "job_type": run.job_type,
        "tags": tags,
        "notes": run.notes,
        "created_at": m.as_utc(run.created_at).isoformat(),
        "config": run.config or {},
        "summary_metrics": run.summary or {},
    }


_COLUMNS: dict[str, Any] = {
    "name": m.Run.public_id,
    "display_name": m.Run.name,
    "displayName": m.Run.name,
    "state": m.Run.state,
    "group": m.Run.group,
    "job_type": m.Run.job_type,
    "jobType": m.Run.job_type,
}


def _column_clause(key: str, cond: Any) -> ColumnElement[bool] | None:
    if isinstance(cond, Mapping):
        if set(cond) == {"$eq"}:
            cond = cond["$eq"]
        elif set(cond) == {"$in"} and all(isinstance(v, str) for v in cond["$in"]):
            values = list(cond["$in"])
            if key == "tags":
                return exists(
                    select(m.RunTag.run_id).where(
                        m.RunTag.run_id == m.Run.id, m.RunTag.tag.in_(values)
                    )
                )
            return _COLUMNS[key].in_(values) if key in _COLUMNS else None
        else:
            return None
    if not isinstance(cond, str):
        return None
    if key == "tags":
        return exists(
            select(m.RunTag.run_id).where(m.RunTag.run_id == m.Run.id, m.RunTag.tag == cond)
        )
    return _COLUMNS[key] == cond if key in _COLUMNS else None


_JSON_FIELDS: dict[str, Any] = {
    "config": m.Run.config,
    "summary_metrics": m.Run.summary,
    "summary": m.Run.summary,
}
_SQL_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "$eq": lambda a, b: a == b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _json_type(column: Any, key: str, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.json_typeof(column.op("->")(literal(key)))
    return func.json_type(column, f'$."{key}"')


def _json_scalar(column: Any, key: str, kind: str, dialect: str) -> Any:
    """The value at top-level ``key`` of a JSON column when it is a JSON ``kind`` ("number"
    or "string"), else NULL (so a comparison with it is never true)."""
    typed = _json_type(column, key, dialect)
    if dialect == "postgresql":
        text = column.op("->>")(literal(key))
        return case((typed == kind, cast(text, Float) if kind == "number" else text))
    kinds = ("integer", "real") if kind == "number" else ("text",)
    return case((typed.in_(kinds), func.json_extract(column, f'$."{key}"')))


def _json_clause(key: str, cond: Any, dialect: str) -> list[ColumnElement[bool]]:
    """Number and string comparisons on a top-level config or summary key, in SQL. Anything
    else (dotted keys, which may name nested or dotted keys; booleans) is left to
    :func:`matches`, and so are list values (a list matches when one of its items does)."""
    head, _, name = key.partition(".")
    column = _JSON_FIELDS.get(head)
    if column is None or not name or "." in name or '"' in name:
        return []
    if dialect not in ("sqlite", "postgresql"):
        return []
    ops = dict(cond) if isinstance(cond, Mapping) else {"$eq": cond}
    is_list = _json_type(column, name, dialect) == "array"
    out: list[ColumnElement[bool]] = []
    for op, arg in ops.items():
        if op not in _SQL_COMPARE or isinstance(arg, bool):
            continue
        if isinstance(arg, (int, float)):
            value = _json_scalar(column, name, "number", dialect)
        elif isinstance(arg, str):
            value = _json_scalar(column, name, "string", dialect)
        else:
            continue
        out.append(or_(_SQL_COMPARE[op](value, arg), is_list))
    return out


def sql_prefilter(filters: Mapping[str, Any], dialect: str = "") -> list[ColumnElement[bool]]:
    """SQL conditions every matching run meets (a superset of the matches: ``matches``
    decides). ``dialect`` (``sqlite``, ``postgresql``) allows conditions on JSON fields."""
    out: list[ColumnElement[bool]] = []
    for key, cond in filters.items():
        if key == "$and":
            for sub in cond:
                out.extend(sql_prefilter(sub, dialect))
        elif not key.startswith("$"):
            clause = _column_clause(key, cond)
            if clause is not None:
                out.append(clause)
            out.extend(_json_clause(key, cond, dialect))
    return out

"""W&B's run filters (MongoDB-style dicts, as ``Api().runs(path, filters=...)`` takes them).

Fields: ``name`` (the run id, as in W&B), ``display_name``, ``state``, ``group``,
``job_type``/``jobType``, ``tags``, ``notes``, ``created_at``/``createdAt``, ``config.<key>``
(``config.<key>.value`` too, W&B's stored form) and ``summary_metrics.<key>`` (or
``summary.<key>``). Operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex``, and
``$and $or $nor`` over lists of filters. A list field (``tags``) matches when any of its
items does, as in MongoDB.

:func:`sql_prefilter` turns the parts that are plain columns into SQL, so the database narrows
the candidates; :func:`matches` then decides every run exactly (JSON fields are compared in
Python, which is the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, exists, select

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


def sql_prefilter(filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """SQL conditions every matching run meets (a superset of the matches: ``matches`` decides)."""
    out: list[ColumnElement[bool]] = []
    for key, cond in filters.items():
        if key == "$and":
            for sub in cond:
                out.extend(sql_prefilter(sub))
        elif not key.startswith("$"):
            clause = _column_clause(key, cond)
            if clause is not None:
                out.append(clause)
    return out

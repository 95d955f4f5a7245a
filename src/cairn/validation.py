"""What any text or number from outside must be before it reaches a database column.

The rules are the same for the server (its request bodies and URLs), the core and the SDK:

* text holds no control characters (NUL above all: PostgreSQL cannot store it in text or JSON)
  and no lone surrogates (they cannot be encoded as UTF-8). Free text (descriptions, metadata
  values) may hold tabs and line breaks; names, keys and URL parts may not;
* integers fit the column that holds them (64-bit for sizes and JSON numbers, 32-bit for
  version indexes), and floats are finite.

Every check raises :class:`~cairn.errors.ValidationError` (a ``ValueError``) naming the field.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from cairn.errors import ValidationError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Free text may break lines; every other control character is refused.
_LINE_CONTROLS = frozenset("\t\n\r")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    if value.isprintable():  # the common case, in C: no control, format or unassigned char
        return None
    for i, ch in enumerate(value):
        category = unicodedata.category(ch)
        if category == "Cc" and not (multiline and ch in _LINE_CONTROLS):
            return f"control character U+{ord(ch):04X} at position {i}"
        if category == "Cs":
            return f"lone surrogate U+{ord(ch):04X} at position {i}"
    return None


def check_text(value: str, what: str, *, multiline: bool = False) -> str:
    """``value`` if it holds no control character (bar tab/CR/LF when ``multiline``).

    Raises:
        ValidationError: a control character or lone surrogate, named with its position.
    """
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValidationError(f"{what} is not allowed: it holds a {problem}")
    return value


def check_int(value: int, what: str, *, lo: int = -INT64_MAX - 1, hi: int = INT64_MAX) -> int:
    """``value`` if ``lo <= value <= hi`` (by default: a signed 64-bit integer).

    Raises:
        ValidationError: out of range, naming the bounds.
    """
    if not lo <= value <= hi:
        raise ValidationError(
            f"{what} is out of range: {value} is not between {lo} and {hi}",
            details={"min": lo, "max": hi},
        )
    return value


def check_json(value: Any, what: str, *, finite: bool = True) -> Any:
    """``value`` if every key, string and number in it (recursively) can be stored.

    Keys follow the single-line rule, strings the free-text one; integers fit 64 bits and
    floats are finite (unless not ``finite``: a run's metrics may be NaN or infinite, and are
    stored where they can be). Other values (bool, None, models) pass as they are.

    Raises:
        ValidationError: naming the path to the first bad value (``metadata.a.0``).
    """
    # A manifest of a million entries passes through here: scan without building paths
    # (~1.5 s per million manifest entries on a busy 2-core machine), and walk again with
    # them only to name a bad value.
    if _has_problem(value, finite):
        _raise_first_problem(value, what, finite)
    return value


def _has_problem(value: Any, finite: bool = True) -> bool:
    # Exact type tests first: isinstance against the Mapping ABC costs more than the check.
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is dict or (kind is not str and isinstance(v, Mapping)):
            for k in v:
                if type(k) is str and not k.isprintable() and text_problem(k) is not None:
                    return True
            items: Any = v.values()
        elif kind is list or kind is tuple:
            items = v
        else:
            items = (v,)
        for item in items:
            kind = type(item)
            if kind is str:
                if not item.isprintable() and text_problem(item, multiline=True) is not None:
                    return True
            elif kind is int:
                if not -INT64_MAX - 1 <= item <= INT64_MAX:
                    return True
            elif kind is float:
                if finite and not math.isfinite(item):
                    return True
            elif kind is dict or kind is list or kind is tuple or isinstance(item, Mapping):
                stack.append(item)
    return False


def _raise_first_problem(value: Any, what: str, finite: bool = True) -> None:
    stack: list[tuple[str, Any]] = [(what, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            check_text(v, where, multiline=True)
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, int):
            check_int(v, where)
        elif isinstance(v, float):
            if finite and not math.isfinite(v):
                raise ValidationError(f"{where} must be a finite number, got {v}")
        elif isinstance(v, Mapping):
            for k, item in v.items():
                if isinstance(k, str):
                    check_text(k, f"key {k!r} of {where}")
                stack.append((f"{where}.{k}", item))
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{where}.{i}", item) for i, item in enumerate(v))

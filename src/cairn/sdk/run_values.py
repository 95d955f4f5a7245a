"""The values a training script hands its run, made JSON the way W&B makes them, and the two
dict-like objects it keeps them in: :class:`Config` and :class:`Summary`.

* numpy scalars become Python numbers, a one-element array its element, a small array
  (at most 32 elements) a list; ``bytes`` are decoded, dates become ISO strings, sets lists;
* a media object (``cairn.Image``, ``cairn.Table``, ...) becomes a summary of it, a dict with
  W&B's ``_type`` (``image-file``, ``table-file``...), its content hash, size and shape;
* in a history row, nested dicts are flattened to dotted keys (``{"a": {"b": 1}}`` →
  ``"a.b"``), except a dict that has a ``_type`` (it is one value); the summary keeps them
  nested, as W&B's does.
"""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cairn.errors import ConflictError
from cairn.media.base import FileMedia, Media

# W&B turns arrays of up to this many elements into lists (and bigger ones into a histogram,
# which Cairn does not make: they are refused).
MAX_ARRAY_AS_LIST = 32


def _media_summary(value: Media) -> dict[str, Any]:
    from cairn.media.table import Table

    if isinstance(value, Table):
        return {"_type": "table-file", "ncols": len(value.columns), "nrows": len(value.data)}
    out: dict[str, Any] = {"_type": type(value)._log_type}
    if isinstance(value, FileMedia):
        out.update(sha256=value.sha256, size=value.size, format=value.format)
        if value.caption is not None:
            out["caption"] = value.caption
        for attr in ("width", "height"):
            if getattr(value, attr, None) is not None:
                out[attr] = getattr(value, attr)
    return out


def to_json_value(value: Any) -> Any:
    """``value`` as JSON-able data (see the module docstring).

    Raises:
        TypeError: a value with no JSON form (an array of more than 32 elements, an object).
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Media):
        return _media_summary(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, range)):
        return [to_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    module = type(value).__module__
    if module == "numpy" or module.startswith("numpy."):
        if hasattr(value, "ndim") and getattr(value, "ndim", 0) > 0:
            if value.size == 1:
                return to_json_value(value.reshape(-1)[0])
            if value.size <= MAX_ARRAY_AS_LIST:
                return to_json_value(value.tolist())
            raise TypeError(
                f"an array of {value.size} elements cannot be logged as a value "
                f"(at most {MAX_ARRAY_AS_LIST}); log a summary statistic instead"
            )
        return to_json_value(value.item())
    if hasattr(value, "item") and callable(value.item):  # torch / jax / tf scalars
        try:
            return to_json_value(value.item())
        except (TypeError, ValueError, RuntimeError):
            pass
    raise TypeError(f"cannot log a value of type {type(value).__name__}: {value!r}")


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (a dict with ``_type`` is kept whole)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and "_type" not in value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def merge_nested(into: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Set each leaf of ``update`` in ``into``, keeping siblings of nested dicts."""
    for key, value in update.items():
        if isinstance(value, dict) and "_type" not in value and isinstance(into.get(key), dict):
            merge_nested(into[key], value)
        else:
            into[key] = value


class Config:
    """A run's hyperparameters: ``config.lr``, ``config["lr"]``, ``config.update({...})``.

    Changing a key's value raises ConflictError unless ``allow_val_change=True`` (W&B's rule).
    """

    def __init__(
        self,
        items: Mapping[str, Any] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        object.__setattr__(self, "_items", dict(items or {}))
        object.__setattr__(self, "_on_change", on_change)

    def _set(self, key: str, value: Any, allow_val_change: bool | None) -> None:
        key = str(key).strip("-")
        value = to_json_value(value)
        items: dict[str, Any] = self._items
        if not allow_val_change and key in items and items[key] != value:
            raise ConflictError(
                f'Attempted to change value of key "{key}" from {items[key]!r} to {value!r}; '
                "pass allow_val_change=True to config.update() to change it",
                details={"key": key},
            )
        items[key] = value

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def __setitem__(self, key: str, value: Any) -> None:
        self._set(key, value, None)
        self._changed()

    __setattr__ = __setitem__

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return bool(self._items == other._items)
        return isinstance(other, Mapping) and self._items == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def update(self, d: Mapping[str, Any] | Any, allow_val_change: bool | None = None) -> None:
        """Set many keys (a dict, an ``argparse.Namespace`` or any object with ``__dict__``)."""
        if not isinstance(d, Mapping):
            d = vars(d)
        for key, value in d.items():
            self._set(key, value, allow_val_change)
        self._changed()

    def setdefaults(self, d: Mapping[str, Any]) -> None:
        """Set the keys of ``d`` that are not set yet."""
        for key, value in d.items():
            if key not in self._items:
                self._set(key, value, True)
        self._changed()

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def keys(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in self._items.items() if not k.startswith("_")]

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __repr__(self) -> str:
        return repr(self._items)


class Summary:
    """A run's summary: the last value logged for each key, unless set here since.

    Dict-like (``summary["acc"]``, ``summary.acc``, ``update``, ``keys``, ``del``); nested dicts
    are read as nested summaries.
    """

    def __init__(
        self,
        items: dict[str, Any] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        object.__setattr__(self, "_items", items if items is not None else {})
        object.__setattr__(self, "_on_change", on_change)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def __getitem__(self, key: str) -> Any:
        value = self._items[key]
        if isinstance(value, dict) and "_type" not in value:
            return Summary(value, self._on_change)
        return value

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[str(key)] = to_json_value(value)
        self._changed()

    __setattr__ = __setitem__

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._changed()

    __delattr__ = __delitem__

    def update(self, d: Mapping[str, Any]) -> None:
        for key, value in d.items():
            self._items[str(key)] = to_json_value(value)
        self._changed()

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._items else default

    def keys(self) -> list[str]:
        return [k for k in self._items if k != "_wandb"]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> list[Any]:
        return [self[k] for k in self.keys()]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Summary):
            return bool(self._items == other._items)
        return isinstance(other, Mapping) and self._items == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def _as_dict(self) -> dict[str, Any]:
        items: dict[str, Any] = self._items
        return items

    def __repr__(self) -> str:
        return repr(self._items)

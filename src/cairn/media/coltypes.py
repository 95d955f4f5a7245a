"""Table cells: what kind each value is, how it is written to JSON, and the column types.

Every cell has a *key* naming its kind: ``none``, ``number``, ``string``, ``boolean``,
``timestamp``, ``list``, ``typedDict``, ``ndarray`` or a media kind (``image-file``, …). A table
keeps the set of keys seen in each column, which is enough to refuse mixed columns cheaply on
every ``add_data``. The full W&B type document (``column_types``: a ``typedDict`` of per-column
types such as ``{"wb_type": "union", "params": {"allowed_types": [{"wb_type": "none"},
{"wb_type": "number"}]}}``) is built only when the table is written.

Cells are normalised when added so that what comes back from an artifact compares equal to
what went in: numpy scalars become Python numbers, tuples become lists, pandas' missing values
become None. Timestamps are written as milliseconds since the epoch, as W&B does, and read
back as timezone-aware UTC datetimes (a naive datetime is taken to be UTC).
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
from typing import TYPE_CHECKING, Any

from cairn.errors import ColumnTypeError
from cairn.media import _optional
from cairn.media.base import Media

if TYPE_CHECKING:
    from cairn.media.base import Reader, Writer

PRIMITIVE = frozenset({"none", "number", "string", "boolean"})
_FAST: dict[type, str] = {
    type(None): "none",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
}
_UTC = dt.UTC
NONE_TYPE: dict[str, Any] = {"wb_type": "none"}


def normalize_cell(value: Any) -> Any:
    """The form of ``value`` a table stores (see the module docstring).

    Raises:
        ColumnTypeError: a dict cell has a key that is not a string.
    """
    if type(value) in _FAST:
        return value
    if _optional.is_numpy_scalar(value):
        np = _optional.loaded("numpy")
        assert np is not None
        if isinstance(value, np.datetime64):
            if np.isnat(value):
                return None
            # .item() of a nanosecond datetime64 is an int; microseconds give a datetime.
            return value.astype("datetime64[us]").item().replace(tzinfo=_UTC)
        return value.item()
    pd = _optional.loaded("pandas")
    if pd is not None:
        if value is pd.NaT or value is pd.NA:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
    if isinstance(value, (list, tuple)):
        return [normalize_cell(v) for v in value]
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise ColumnTypeError(f"dict cells need string keys (JSON objects); got {k!r}")
        return {k: normalize_cell(v) for k, v in value.items()}
    return value


def cell_key(value: Any) -> str:
    """The kind of a normalised cell.

    Raises:
        ColumnTypeError: tables cannot hold values of this type.
    """
    key = _FAST.get(type(value))
    if key is not None:
        # NaN is a missing value, as in pandas (only a float is unequal to itself).
        return "none" if key == "number" and value != value else key
    if isinstance(value, Media):
        return value._log_type
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "none" if value != value else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (dt.datetime, dt.date)):
        return "timestamp"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "typedDict"
    if _optional.is_ndarray(value):
        return "ndarray"
    raise ColumnTypeError(
        f"a table cell cannot hold a {type(value).__name__}: use numbers, strings, booleans, "
        "None, timestamps, lists, dicts, numpy arrays or media objects (Image, Audio, …)"
    )


def keys_of(values: list[Any]) -> set[str]:
    """The set of cell keys in a column of normalised cells, faster than one call per cell."""
    keys: set[str] = set()
    for t in {type(v) for v in values}:
        key = _FAST.get(t)
        if key is None:
            keys.update(cell_key(v) for v in values if type(v) is t)
        elif t is float:
            floats = [v for v in values if type(v) is float]
            if any(v != v for v in floats):
                keys.add("none")
            if any(v == v for v in floats):
                keys.add("number")
        else:
            keys.add(key)
    return keys


_DTYPE_KEYS: dict[Any, str] = {
    int: "number",
    float: "number",
    str: "string",
    bool: "boolean",
    dt.datetime: "timestamp",
    dt.date: "timestamp",
    list: "list",
    dict: "typedDict",
}


def dtype_key(dtype: Any) -> str | None:
    """The cell key a ``dtype`` argument forces (None: no constraint).

    Raises:
        ColumnTypeError: the dtype is not one a table understands.
    """
    if dtype is None:
        return None
    if dtype in _DTYPE_KEYS:
        return _DTYPE_KEYS[dtype]
    if isinstance(dtype, type) and issubclass(dtype, Media):
        return dtype._log_type
    if isinstance(dtype, Media):
        return dtype._log_type
    raise ColumnTypeError(
        f"unsupported dtype {dtype!r}: use int, float, str, bool, datetime, list, dict, a media "
        "class such as cairn.Image, or None"
    )


# -- writing -----------------------------------------------------------------------------------


def to_millis(value: dt.date) -> int:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=_UTC)
    return round(value.timestamp() * 1000)


def cell_to_json(value: Any, writer: Writer) -> Any:
    """A cell as it goes into the table's ``data`` (media objects stage their payloads)."""
    if isinstance(value, Media):
        return value._to_json(writer)
    if isinstance(value, (dt.datetime, dt.date)):
        return to_millis(value)
    if isinstance(value, list):
        return [cell_to_json(v, writer) for v in value]
    if isinstance(value, dict):
        return {k: cell_to_json(v, writer) for k, v in value.items()}
    if _optional.is_ndarray(value):
        return cell_to_json(normalize_cell(value.tolist()), writer)
    return value


def _const(val: Any, is_set: bool = False) -> dict[str, Any]:
    return {"wb_type": "const", "params": {"val": val, "is_set": is_set}}


def _image_type(images: list[Any]) -> dict[str, Any]:
    # W&B's image column type records the box and mask layers (with the class ids each uses),
    # the score keys of boxes, and the class map, so its UI can offer them as filters.
    box_layers: dict[str, set[Any]] = {}
    mask_layers: dict[str, set[Any]] = {}
    score_keys: set[str] = set()
    class_map: dict[str, str] = {}
    for img in images:
        for key, boxes in (img._boxes or {}).items():
            box_layers.setdefault(str(key), set()).update(boxes.class_labels)
            for box in boxes.box_data:
                score_keys.update(box.get("scores", {}))
        for key, mask in (img._masks or {}).items():
            mask_layers.setdefault(str(key), set()).update(mask.class_labels)
        if img._classes is not None:
            for item in img._classes.class_set:
                class_map.setdefault(str(item["id"]), item["name"])
    return {
        "wb_type": "image-file",
        "params": {
            "box_layers": _const({k: sorted(v, key=str) for k, v in box_layers.items()}),
            "box_score_keys": _const(sorted(score_keys), is_set=True),
            "mask_layers": _const({k: sorted(v, key=str) for k, v in mask_layers.items()}),
            "class_map": _const(class_map),
        },
    }


def _sort_key(t: dict[str, Any]) -> str:
    # W&B orders a union's members by each type's printed form; only the order differs if
    # this is approximate, and W&B re-sorts when it reads.
    if t["wb_type"] == "list":
        return _sort_key(t["params"]["element_type"]) + "[]"
    if t["wb_type"] == "typedDict":
        return "{"
    return str(t["wb_type"]).capitalize()


def union(types: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for t in types:
        members = t["params"]["allowed_types"] if t["wb_type"] == "union" else [t]
        for m in members:
            if m not in flat:
                flat.append(m)
    if len(flat) == 1:
        return flat[0]
    return {"wb_type": "union", "params": {"allowed_types": sorted(flat, key=_sort_key)}}


def type_of_values(values: list[Any]) -> dict[str, Any]:
    """The W&B type of a collection of normalised cells (``unknown`` when empty)."""
    groups: dict[str, list[Any]] = {}
    for v in values:
        groups.setdefault(cell_key(v), []).append(v)
    types: list[dict[str, Any]] = []
    for key, group in groups.items():
        if key in PRIMITIVE or key == "timestamp":
            types.append({"wb_type": key})
        elif key == "list":
            lengths = {len(v) for v in group}
            elements = [e for v in group for e in v]
            types.append(
                {
                    "wb_type": "list",
                    "params": {
                        "element_type": type_of_values(elements),
                        "length": lengths.pop() if len(lengths) == 1 else None,
                    },
                }
            )
        elif key == "typedDict":
            names: list[str] = []
            for v in group:
                names.extend(k for k in v if k not in names)
            type_map = {n: type_of_values([v.get(n) for v in group]) for n in names}
            types.append({"wb_type": "typedDict", "params": {"type_map": type_map}})
        elif key == "ndarray":
            types.append(
                {
                    "wb_type": "ndarray",
                    "params": {"shape": list(group[0].shape), "serialization_path": None},
                }
            )
        elif key == "image-file":
            types.append(_image_type(group))
        else:
            types.append({"wb_type": key})
    if not types:
        return {"wb_type": "unknown"}
    return union(types)


def column_type(
    keys: set[str], values: list[Any] | None, *, optional: bool, mixed: bool
) -> dict[str, Any]:
    """One column's W&B type; ``values`` is needed only when ``keys`` holds a non-primitive."""
    if mixed:
        return union([{"wb_type": "any"}, NONE_TYPE]) if optional else {"wb_type": "any"}
    concrete = keys - {"none"}
    if not concrete:
        base: dict[str, Any] = {"wb_type": "unknown"}
    elif concrete <= PRIMITIVE | {"timestamp"}:
        base = union([{"wb_type": k} for k in sorted(concrete)])
    else:
        assert values is not None
        base = type_of_values([v for v in values if cell_key(v) != "none"])
    return union([NONE_TYPE, base]) if optional else base


# -- reading -----------------------------------------------------------------------------------


def type_names(t: Any) -> set[str]:
    """Top-level ``wb_type`` names in a column type (a union's members, flattened)."""
    if not isinstance(t, dict):
        return set()
    if t.get("wb_type") == "union":
        out: set[str] = set()
        for m in t.get("params", {}).get("allowed_types", []):
            out |= type_names(m)
        return out
    return {str(t.get("wb_type"))}


def ndarray_type(t: Any) -> dict[str, Any] | None:
    if not isinstance(t, dict):
        return None
    if t.get("wb_type") == "ndarray":
        return t
    if t.get("wb_type") == "union":
        for m in t.get("params", {}).get("allowed_types", []):
            found = ndarray_type(m)
            if found is not None:
                return found
    return None


def cell_from_json(value: Any, reader: Reader) -> Any:
    """Rebuild media objects inside a cell read from JSON (other values pass through)."""
    if isinstance(value, dict):
        if "_type" in value:
            obj = reader.cell(value)
            if obj is not None:
                return obj
        return {k: cell_from_json(v, reader) for k, v in value.items()}
    if isinstance(value, list):
        return [cell_from_json(v, reader) for v in value]
    return value


def from_millis(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
        return dt.datetime.fromtimestamp(value / 1000, tz=_UTC)
    if isinstance(value, str):
        # Older W&B clients wrote ISO strings.
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def numpy_or_none() -> Any:
    """numpy if it is installed (imported on demand), else None: arrays then stay lists."""
    try:
        return importlib.import_module("numpy")
    except ImportError:
        return None


# -- equality ----------------------------------------------------------------------------------


def _as_utc_millis(value: dt.date) -> int:
    return to_millis(value)


def cells_equal(a: Any, b: Any) -> bool:
    """Cell equality as a round trip preserves it: NaN equals NaN, arrays compare by value,
    timestamps compare at millisecond precision with naive ones taken as UTC."""
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, (dt.datetime, dt.date)) and isinstance(b, (dt.datetime, dt.date)):
        return _as_utc_millis(a) == _as_utc_millis(b)
    if _optional.is_ndarray(a) or _optional.is_ndarray(b):
        np = _optional.loaded("numpy")
        assert np is not None
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))
        except TypeError:  # equal_nan on a non-numeric array
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(cells_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(cells_equal(a[k], b[k]) for k in a)
    return bool(a == b)

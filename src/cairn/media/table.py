"""Tables: :class:`Table`, :class:`PartitionedTable` and :class:`JoinedTable`.

A table is stored as ``<name>.table.json``::

    {"_type": "table", "columns": [...], "data": [[...], ...], "ncols": n, "nrows": m,
     "column_types": {"wb_type": "typedDict", "params": {"type_map": {column: type}}},
     "log_mode": "IMMUTABLE"}

Media cells (an Image in a row) are small dicts in ``data`` (``_type``, ``path``, ``sha256``,
sizes) whose payloads are files of their own under ``media/``. A partitioned table stores only
the folder of its parts; a joined table stores the paths of its two tables and the join key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from cairn.errors import (
    ArtifactNotLoggedError,
    ColumnTypeError,
    EntryNotFoundError,
    ValidationError,
)
from cairn.manifest import normalize_entry_path
from cairn.media import _optional
from cairn.media.base import Media, Reader, Writer, json_bytes
from cairn.media.coltypes import (
    PRIMITIVE,
    cell_from_json,
    cell_key,
    cell_to_json,
    cells_equal,
    column_type,
    dtype_key,
    from_millis,
    keys_of,
    ndarray_type,
    normalize_cell,
    numpy_or_none,
    type_names,
)

_LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
_DEFAULT_COLUMNS = ["Input", "Output", "Expected"]


class Table(Media):
    """Rows and named columns whose cells are numbers, strings, booleans, None, timestamps,
    lists, dicts, numpy arrays or media objects (Image, Audio, …).

    ``Table(columns=None, data=None, rows=None, dataframe=None, dtype=None, optional=True,
    allow_mixed_types=False)``: ``data`` may be a list of rows, a 2-D numpy array or a pandas
    DataFrame (as may ``dataframe``, which then also gives the columns). Without columns the
    W&B default ``["Input", "Output", "Expected"]`` is used. A column holds one kind of value
    (plus None when ``optional``) unless ``allow_mixed_types``; ``dtype`` (one for all columns
    or one per column: ``int``, ``float``, ``str``, ``bool``, ``datetime``, ``list``, ``dict``, a
    media class, or None) fixes a column's kind up front.

    Raises (from the constructor and ``add_data``/``add_column``):
        ColumnTypeError: a cell does not fit its column (a ``TypeError`` and ``ValueError``).
        ValidationError: a row has the wrong length, or columns are not unique strings or ints.
    """

    _log_type = "table"

    def __init__(
        self,
        columns: Sequence[str | int] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool | Sequence[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = "IMMUTABLE",
    ) -> None:
        if log_mode is not None and log_mode not in _LOG_MODES:
            raise ValidationError(f"log_mode must be one of {', '.join(_LOG_MODES)}")
        self.log_mode = log_mode or "IMMUTABLE"
        self._allow_mixed = bool(allow_mixed_types)
        if dataframe is None and _optional.is_dataframe(data):
            dataframe, data = data, None
        if dataframe is not None:
            if not _optional.is_dataframe(dataframe):
                raise ValidationError("dataframe must be a pandas.DataFrame")
            columns = list(dataframe.columns)
        elif columns is None:
            columns = list(_DEFAULT_COLUMNS)
        self._init_columns(list(columns), dtype, optional)
        self.data: list[list[Any]] = []
        if dataframe is not None:
            self._extend(dataframe.itertuples(index=False, name=None), check=True)
        elif data is not None:
            self._extend(_rows_of(data), check=True)
        elif rows is not None:
            self._extend(_rows_of(rows), check=True)

    def _init_columns(self, columns: list[Any], dtype: Any, optional: Any) -> None:
        # A DataFrame's column labels may be numpy integers; JSON wants plain ones.
        columns = [c.item() if _optional.is_numpy_scalar(c) else c for c in columns]
        for c in columns:
            if type(c) not in (str, int):
                raise ValidationError(f"column names must be strings or ints, got {c!r}")
        if len(set(columns)) != len(columns):
            raise ValidationError(f"column names must be unique: {columns}")
        n = len(columns)
        dtypes = list(dtype) if isinstance(dtype, (list, tuple)) else [dtype] * n
        optionals = list(optional) if isinstance(optional, (list, tuple)) else [optional] * n
        if len(dtypes) != n or len(optionals) != n:
            raise ValidationError(f"give one dtype and one optional flag per column ({n})")
        self.columns: list[Any] = columns
        self._forced: list[str | None] = [dtype_key(d) for d in dtypes]
        self._optional: list[bool] = [bool(o) for o in optionals]
        self._keys: list[set[str]] = [set() for _ in columns]

    # -- adding ------------------------------------------------------------------------------

    def _admit(self, col: int, key: str) -> None:
        """Record that column ``col`` now holds a ``key`` cell, or refuse it."""
        keys = self._keys[col]
        if key in keys:
            return
        name = self.columns[col]
        if key == "none":
            if not self._optional[col]:
                raise ColumnTypeError(f"column {name!r} is not optional: it cannot hold None")
        else:
            forced = self._forced[col]
            if forced is not None and key != forced and not self._allow_mixed:
                raise ColumnTypeError(f"column {name!r} holds {forced} values, not {key}")
            others = keys - {"none", key}
            if others and not self._allow_mixed:
                raise ColumnTypeError(
                    f"column {name!r} holds {', '.join(sorted(others))} values and cannot also "
                    f"hold {key}; pass allow_mixed_types=True to allow it"
                )
        keys.add(key)

    def _extend(self, rows: Any, *, check: bool) -> None:
        n = len(self.columns)
        append = self.data.append
        admit = self._admit
        keysets = self._keys
        for raw in rows:
            if len(raw) != n:
                raise ValidationError(
                    f"this table expects {n} columns {self.columns}, found {len(raw)}"
                )
            row = [normalize_cell(v) for v in raw]
            for i, v in enumerate(row):
                key = cell_key(v)
                if key not in keysets[i]:
                    if check:
                        admit(i, key)
                    else:
                        keysets[i].add(key)
            append(row)

    def add_data(self, *data: Any) -> None:
        """Append one row (one value per column)."""
        self._extend([data], check=True)

    def add_row(self, *row: Any) -> None:
        """Deprecated alias of :meth:`add_data`, kept for W&B code."""
        self.add_data(*row)

    def add_column(self, name: str | int, data: Any, optional: bool = False) -> None:
        """Append a column. ``data`` is a list or 1-D numpy array, one value per row.

        Raises:
            ValidationError: the name is taken or the length does not match the rows.
            ColumnTypeError: the values are mixed, or None where ``optional`` is False.
        """
        if type(name) not in (str, int) or name in self.columns:
            raise ValidationError(f"column name {name!r} must be a new string or int")
        values = [normalize_cell(v) for v in _column_values(data)]
        first = not self.columns
        if not first and len(values) != len(self.data):
            raise ValidationError(f"expected {len(self.data)} values, found {len(values)}")
        self.columns.append(name)
        self._forced.append(None)
        self._optional.append(bool(optional))
        self._keys.append(set())
        try:
            for v in values:
                self._admit(len(self.columns) - 1, cell_key(v))
        except ColumnTypeError:
            self.columns.pop()
            self._forced.pop()
            self._optional.pop()
            self._keys.pop()
            raise
        if first:
            self.data = [[v] for v in values]
        else:
            for row, v in zip(self.data, values, strict=True):
                row.append(v)

    def add_computed_columns(self, fn: Callable[[int, dict[Any, Any]], dict[Any, Any]]) -> None:
        """Add the columns ``fn(index, row_as_dict)`` returns (a dict of new values) per row."""
        new: dict[Any, list[Any]] = {}
        for ndx, row in self.iterrows():
            out = fn(ndx, dict(zip(self.columns, row, strict=True)))
            if not isinstance(out, dict):
                raise ValidationError("the function must return a dict of new column values")
            for k, v in out.items():
                new.setdefault(k, []).append(v)
        for k, values in new.items():
            self.add_column(k, values)

    # -- reading -----------------------------------------------------------------------------

    def get_column(self, name: str | int, convert_to: str | None = None) -> Any:
        """The values of column ``name`` (a list, or a numpy array with ``convert_to="numpy"``).

        Raises:
            EntryNotFoundError: no such column (a ``KeyError``).
            ImportError: ``convert_to="numpy"`` without numpy installed.
        """
        if convert_to not in (None, "numpy"):
            raise ValidationError("convert_to must be None or 'numpy'")
        idx = self._index_of(name)
        col = [row[idx] for row in self.data]
        if convert_to == "numpy":
            np = _optional.require("numpy", "Table.get_column(convert_to='numpy')")
            return np.array(col)
        return col

    def _index_of(self, name: str | int) -> int:
        try:
            return self.columns.index(name)
        except ValueError:
            raise EntryNotFoundError(f"no column {name!r} in {self.columns}") from None

    def get_index(self) -> list[int]:
        """Row indexes, ``0 … nrows-1``."""
        return list(range(len(self.data)))

    def index_ref(self, index: int) -> int:
        if not 0 <= index < len(self.data):
            raise IndexError(f"row {index} out of range ({len(self.data)} rows)")
        return index

    def get_dataframe(self) -> Any:
        """The table as a ``pandas.DataFrame``.

        Raises:
            ImportError: pandas is not installed.
        """
        pd = _optional.require("pandas", "Table.get_dataframe()")
        return pd.DataFrame.from_records(self.data, columns=self.columns)

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(index, row)`` for every row."""
        yield from enumerate(self.data)

    def __iter__(self) -> Iterator[list[Any]]:
        return iter(self.data)

    @property
    def ncols(self) -> int:
        return len(self.columns)

    @property
    def nrows(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table) or type(other) is not type(self):
            return False
        if self.columns != other.columns or len(self.data) != len(other.data):
            return False
        plain = all(k <= PRIMITIVE for k in self._keys) and all(k <= PRIMITIVE for k in other._keys)
        # Plain rows compare at C speed; arrays refuse ``==`` as a truth value, so cells that
        # may hold one are compared one by one.
        if plain and self.data == other.data:
            return True
        return all(
            cells_equal(a, b)
            for ra, rb in zip(self.data, other.data, strict=True)
            for a, b in zip(ra, rb, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Table(columns={self.columns!r}, nrows={len(self.data)})"

    # -- JSON --------------------------------------------------------------------------------

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        rich = [i for i, keys in enumerate(self._keys) if not keys <= PRIMITIVE]
        if rich:
            data = [list(row) for row in self.data]
            for row in data:
                for i in rich:
                    row[i] = cell_to_json(row[i], writer)
        else:
            data = self.data  # plain values are already JSON
        type_map = {}
        for i, name in enumerate(self.columns):
            keys = self._keys[i]
            values = [row[i] for row in self.data] if i in rich else None
            type_map[str(name)] = column_type(
                keys, values, optional=self._optional[i], mixed=self._allow_mixed
            )
        return {
            "_type": self._log_type,
            "columns": self.columns,
            "data": data,
            "ncols": len(self.columns),
            "nrows": len(data),
            "column_types": {"wb_type": "typedDict", "params": {"type_map": type_map}},
            "log_mode": self.log_mode,
        }

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> Table:
        if not isinstance(doc, dict) or not isinstance(doc.get("columns"), list):
            raise ValidationError("table JSON needs a 'columns' list")
        columns = doc["columns"]
        rows = doc.get("data") or []
        for row in rows:
            if not isinstance(row, list) or len(row) != len(columns):
                raise ValidationError(f"table row {row!r} does not have {len(columns)} cells")
        type_map = (doc.get("column_types") or {}).get("params", {}).get("type_map", {})
        types = [type_map.get(str(c)) for c in columns]
        # W&B writes bigger array columns to an .npz beside the table and leaves None cells.
        arrays: dict[int, Any] = {}
        for i, t in enumerate(types):
            nd = ndarray_type(t)
            spath = (nd or {}).get("params", {}).get("serialization_path")
            if isinstance(spath, dict) and "path" in spath:
                numpy = _optional.require("numpy", "reading a table with a numpy column")
                with numpy.load(reader.file(spath["path"])) as npz:
                    arrays[i] = npz[spath["key"]]
        names = [type_names(t) for t in types]
        timestamps = {i for i, n in enumerate(names) if "timestamp" in n}
        ndarrays = {i for i, t in enumerate(types) if ndarray_type(t) is not None} - set(arrays)
        plain = {i for i, n in enumerate(names) if n and n <= PRIMITIVE | {"unknown"}} - timestamps
        np = numpy_or_none() if ndarrays else None
        rich = [i for i in range(len(columns)) if i not in plain]
        out: list[list[Any]] = rows if not rich else []
        for r, row in enumerate(rows if rich else ()):
            new = list(row)
            for i in rich:
                v = new[i]
                if i in arrays:
                    new[i] = arrays[i][r]
                elif i in timestamps:
                    new[i] = from_millis(v)
                elif i in ndarrays and np is not None and isinstance(v, list):
                    new[i] = np.array(v)
                else:
                    new[i] = cell_from_json(v, reader)
            out.append(new)
        table = cls.__new__(cls)
        table.log_mode = str(doc.get("log_mode") or "IMMUTABLE")
        table._allow_mixed = any("any" in n for n in names)
        table._init_columns(list(columns), None, [not n or "none" in n for n in names])
        # What a W&B client wrote is accepted as it is: the checks guard adding, not reading.
        # JSON values are already in normal form, so the rows are kept and only scanned.
        table.data = out
        table._keys = [keys_of([row[i] for row in out]) for i in range(len(columns))]
        return table


def _rows_of(data: Any) -> Any:
    if _optional.is_ndarray(data):
        if data.ndim != 2:
            raise ValidationError(f"a numpy array of rows must be 2-D, got shape {data.shape}")
        return list(data)
    if not isinstance(data, (list, tuple)):
        raise ValidationError("data must be a list of rows, a 2-D numpy array or a DataFrame")
    return data


def _column_values(data: Any) -> list[Any]:
    if _optional.is_ndarray(data):
        return list(data)
    if not isinstance(data, (list, tuple)):
        raise ValidationError("column data must be a list or a numpy array")
    return list(data)


# -- partitioned ---------------------------------------------------------------------------------


def _natural_key(path: str) -> list[Any]:
    # part_2 before part_10: writers usually number their parts.
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", path)]


class PartitionedTable(Media):
    """A table made of the Table parts under a folder of the artifact (``parts_path``).

    Parallel writers each ``add`` a Table under the folder; a PartitionedTable added afterwards
    names the folder, and ``artifact.get(name)`` reads the parts back as one table (in natural
    order of their paths: ``part_2`` before ``part_10``).
    """

    _log_type = "partitioned-table"

    def __init__(self, parts_path: str) -> None:
        """Raises: InvalidPathError (a ValidationError) for an absolute or escaping path."""
        self.parts_path = normalize_entry_path(parts_path)
        self._part_paths: list[str] | None = None
        self._reader: Reader | None = None
        self._parts: dict[str, Table] = {}

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        return {"_type": self._log_type, "parts_path": self.parts_path}

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> PartitionedTable:
        if not isinstance(doc, dict) or not isinstance(doc.get("parts_path"), str):
            raise ValidationError("partitioned-table JSON needs a 'parts_path'")
        obj = cls(doc["parts_path"])
        paths = [p for p in reader.list_paths(obj.parts_path) if p.endswith(".table.json")]
        obj._part_paths = sorted(paths, key=_natural_key)
        obj._reader = reader
        return obj

    @property
    def part_paths(self) -> list[str]:
        """Artifact paths of the parts.

        Raises:
            ArtifactNotLoggedError: this object was made here, not read from an artifact.
        """
        if self._part_paths is None:
            raise ArtifactNotLoggedError(
                "PartitionedTable parts",
                "a PartitionedTable made with PartitionedTable(path) has no parts yet: read it "
                "back from a logged artifact with artifact.get(name)",
            )
        return self._part_paths

    def _part(self, path: str) -> Table:
        part = self._parts.get(path)
        if part is None:
            assert self._reader is not None
            got = self._reader.get(path)
            if not isinstance(got, Table):
                raise ValidationError(f"{path!r} is not a table")
            part = self._parts[path] = got
        return part

    @property
    def parts(self) -> list[Table]:
        return [self._part(p) for p in self.part_paths]

    @property
    def columns(self) -> list[Any]:
        paths = self.part_paths
        return list(self._part(paths[0]).columns) if paths else []

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """Yield ``(index, row)`` across all parts, in order.

        Raises:
            ValidationError: the parts do not all have the same columns.
        """
        columns: list[Any] | None = None
        ndx = 0
        for path in self.part_paths:
            part = self._part(path)
            if columns is None:
                columns = part.columns
            elif part.columns != columns:
                raise ValidationError(
                    f"table parts have different columns: {columns} != {part.columns}"
                )
            for row in part.data:
                yield ndx, row
                ndx += 1

    def __iter__(self) -> Iterator[list[Any]]:
        return (row for _, row in self.iterrows())

    def to_table(self) -> Table:
        """All parts as one :class:`Table`."""
        rows = [row for _, row in self.iterrows()]
        table = Table(columns=self.columns, allow_mixed_types=True)
        table._allow_mixed = any(p._allow_mixed for p in self.parts)
        table._extend(rows, check=False)
        return table

    def get_dataframe(self) -> Any:
        return self.to_table().get_dataframe()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartitionedTable) and self.parts_path == other.parts_path

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PartitionedTable({self.parts_path!r})"


# -- joined --------------------------------------------------------------------------------------

_TableSide = Table | PartitionedTable | str


class JoinedTable(Media):
    """Two tables joined on a key, for viewing: ``JoinedTable(table1, table2, join_key)``.

    Each table is a Table, a PartitionedTable, or the artifact path of one already in the
    artifact (``"a.table.json"``); ``join_key`` is a column name or a pair of them. Tables
    given as objects are stored beside the join under ``media/tables/``.

    Raises:
        ValidationError: a table or the join key is not one of those forms.
    """

    _log_type = "joined-table"

    def __init__(self, table1: _TableSide, table2: _TableSide, join_key: str | list[str]) -> None:
        if not (
            isinstance(join_key, str)
            or (
                isinstance(join_key, (list, tuple))
                and len(join_key) == 2
                and all(isinstance(k, str) for k in join_key)
            )
        ):
            raise ValidationError("join_key must be a column name or a list of two names")
        for t in (table1, table2):
            if not _valid_side(t):
                raise ValidationError(
                    "JoinedTable tables must be Table or PartitionedTable objects, or artifact "
                    f"paths ending in .table.json; got {t!r}"
                )
        self._table1: _TableSide = table1
        self._table2: _TableSide = table2
        self._join_key: str | list[str] = join_key if isinstance(join_key, str) else list(join_key)
        # Artifact paths of the two tables, when known (read back, or given as paths).
        self._paths: list[str | None] = [
            t if isinstance(t, str) else None for t in (table1, table2)
        ]

    @property
    def table1(self) -> _TableSide:
        return self._table1

    @property
    def table2(self) -> _TableSide:
        return self._table2

    @property
    def join_key(self) -> str | list[str]:
        return self._join_key

    def _to_json(self, writer: Writer) -> dict[str, Any]:
        return {
            "_type": self._log_type,
            "table1": _side_path(self._table1, writer),
            "table2": _side_path(self._table2, writer),
            "join_key": self._join_key,
        }

    @classmethod
    def _from_json(cls, doc: Any, reader: Reader) -> JoinedTable:
        if not isinstance(doc, dict) or "table1" not in doc or "table2" not in doc:
            raise ValidationError("joined-table JSON needs 'table1', 'table2' and 'join_key'")
        sides: list[_TableSide] = []
        for key in ("table1", "table2"):
            path = doc[key]
            try:
                sides.append(reader.get(path))
            except EntryNotFoundError:
                sides.append(path)  # kept as a path, as W&B does
        obj = cls(sides[0], sides[1], doc.get("join_key", ""))
        obj._paths = [doc["table1"], doc["table2"]]
        return obj

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JoinedTable) or self._join_key != other._join_key:
            return False
        for mine, theirs, mp, tp in zip(
            (self._table1, self._table2),
            (other._table1, other._table2),
            self._paths,
            other._paths,
            strict=True,
        ):
            if isinstance(mine, str) or isinstance(theirs, str):
                # A side known only by path equals a side read back from that path.
                if (mp or mine) != (tp or theirs):
                    return False
            elif mine != theirs:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"JoinedTable({self._table1!r}, {self._table2!r}, join_key={self._join_key!r})"


def _valid_side(t: Any) -> bool:
    if isinstance(t, (Table, PartitionedTable)):
        return True
    return isinstance(t, str) and (
        t.endswith(".table.json") or t.endswith(".partitioned-table.json")
    )


def _side_path(t: _TableSide, writer: Writer) -> str:
    if isinstance(t, str):
        return normalize_entry_path(t)
    doc = t._to_json(writer)
    # Named by content, so adding the same join twice stores each table once.
    digest = hashlib.md5(json_bytes(doc)).hexdigest()[:20]
    return writer.add_json(f"media/tables/{digest}.{t._log_type}.json", doc)

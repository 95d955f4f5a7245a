"""cairn.Table: building, reading, type rules, and round trips through the media contract."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image as PILImage

import cairn
from cairn.errors import EntryNotFoundError, ValidationError
from cairn.media import ColumnTypeError, Image, Table
from tests.media.fake import FakeArtifact, round_trip


def test_add_data_columns_index_and_iteration() -> None:
    t = Table(columns=["a", "b"])
    t.add_data(1, "x")
    t.add_data(2, "y")
    assert t.columns == ["a", "b"]
    assert t.data == [[1, "x"], [2, "y"]]
    assert t.get_column("a") == [1, 2]
    assert list(t.get_column("b", convert_to="numpy")) == ["x", "y"]
    assert t.get_index() == [0, 1]
    assert list(t.iterrows()) == [(0, [1, "x"]), (1, [2, "y"])]
    assert list(t) == [[1, "x"], [2, "y"]]
    assert (t.nrows, t.ncols) == (2, 2)


def test_default_columns_are_w_and_b_ones() -> None:
    assert Table().columns == ["Input", "Output", "Expected"]


def test_add_column_and_computed_columns() -> None:
    t = Table(columns=["user"], data=[["geoff"], ["ada"]])
    t.add_column("n", [1, 2])
    t.add_computed_columns(lambda ndx, row: {"len": len(row["user"])})
    assert t.columns == ["user", "n", "len"]
    assert t.get_column("len") == [5, 3]
    with pytest.raises(ValidationError):
        t.add_column("n", [3, 4])  # name taken
    with pytest.raises(ValidationError):
        t.add_column("m", [1])  # wrong length
    with pytest.raises(ColumnTypeError):
        t.add_column("o", [1, None])  # not optional
    assert t.columns == ["user", "n", "len"]  # the refused columns left nothing behind


def test_add_column_to_empty_table() -> None:
    t = Table(columns=[])
    t.add_column("a", np.array([1, 2, 3]))
    assert t.data == [[1], [2], [3]]


def test_row_length_is_checked() -> None:
    t = Table(columns=["a", "b"])
    with pytest.raises(ValidationError, match="expects 2 columns"):
        t.add_data(1)


def test_unknown_column_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        Table(columns=["a"]).get_column("b")
    with pytest.raises(EntryNotFoundError):
        Table(columns=["a"]).get_column("b")


def test_mixed_column_refused_unless_allowed() -> None:
    t = Table(columns=["a"])
    t.add_data(1)
    t.add_data(None)  # optional by default
    with pytest.raises(ColumnTypeError) as err:
        t.add_data("one")
    # Catchable as W&B's TypeError and as Cairn's ValidationError (a ValueError).
    assert isinstance(err.value, TypeError)
    assert isinstance(err.value, ValidationError)
    assert t.data == [[1], [None]]
    mixed = Table(columns=["a"], data=[[1], ["one"], [True]], allow_mixed_types=True)
    assert mixed.get_column("a") == [1, "one", True]


def test_dtype_fixes_a_column() -> None:
    t = Table(columns=["a", "b"], dtype=[str, None])
    t.add_data("x", 1)
    with pytest.raises(ColumnTypeError):
        t.add_data(2, 1)
    with pytest.raises(ColumnTypeError):
        Table(columns=["a"], dtype=object)


def test_unsupported_cell_type() -> None:
    with pytest.raises(ColumnTypeError, match="cannot hold a object"):
        Table(columns=["a"], data=[[object()]])


def test_columns_must_be_unique_names() -> None:
    with pytest.raises(ValidationError):
        Table(columns=["a", "a"])
    with pytest.raises(ValidationError):
        Table(columns=[1.5])  # type: ignore[list-item]


def test_numpy_values_are_normalised() -> None:
    t = Table(columns=["i", "f", "b"], data=np.array([[1, 2, 0], [3, 4, 1]]))
    assert t.data == [[1, 2, 0], [3, 4, 1]]
    assert all(type(v) is int for v in t.data[0])
    t2 = Table(columns=["f", "b"], data=[[np.float32(0.5), np.bool_(True)]])
    assert t2.data == [[0.5, True]] and type(t2.data[0][1]) is bool


def test_equality() -> None:
    a = Table(columns=["x"], data=[[1.0], [math.nan]])
    b = Table(columns=["x"], data=[[1.0], [float("nan")]])
    assert a == b  # NaN cells are equal to each other
    assert a != Table(columns=["y"], data=[[1.0], [math.nan]])
    assert a != Table(columns=["x"], data=[[2.0], [math.nan]])
    assert a != "not a table"


# -- round trips ---------------------------------------------------------------------------------


def test_round_trip_plain_values(tmp_path: Path) -> None:
    t = Table(
        columns=["n", "s", "b", "none", 7],
        data=[[1, "a", True, None, 1.5], [2.5, "é", False, None, -3], [None, None, None, None, 0]],
    )
    got = round_trip(t, tmp_path)
    assert isinstance(got, Table)
    assert got == t
    assert got.columns == ["n", "s", "b", "none", 7]


def test_on_disk_format(fake: FakeArtifact) -> None:
    t = Table(columns=["a", "b"], data=[[1, "x"], [None, "y"]])
    pairs = fake.add(t, "dir/my_table")
    assert [p for p, _ in pairs] == ["dir/my_table.table.json"]
    doc = fake.json("dir/my_table.table.json")
    assert doc["_type"] == "table"
    assert doc["columns"] == ["a", "b"]
    assert doc["data"] == [[1, "x"], [None, "y"]]
    assert (doc["ncols"], doc["nrows"]) == (2, 2)
    type_map = doc["column_types"]["params"]["type_map"]
    assert doc["column_types"]["wb_type"] == "typedDict"
    assert type_map["a"] == {
        "wb_type": "union",
        "params": {"allowed_types": [{"wb_type": "none"}, {"wb_type": "number"}]},
    }
    assert type_map["b"]["params"]["allowed_types"] == [{"wb_type": "none"}, {"wb_type": "string"}]


def test_get_accepts_name_with_suffix(fake: FakeArtifact) -> None:
    t = Table(columns=["a"], data=[[1]])
    fake.add(t, "t")
    assert fake.get("t.table.json") == t
    assert fake.get("./t") == t


def test_round_trip_image_column(fake: FakeArtifact) -> None:
    red = np.zeros((8, 6, 3), dtype=np.uint8)
    red[..., 0] = 255
    blue = np.zeros((8, 6, 3), dtype=np.uint8)
    blue[..., 2] = 255
    img_red = Image(red, caption="red")
    t = Table(columns=["id", "image"])
    t.add_data(0, img_red)
    t.add_data(1, Image(blue))
    t.add_data(2, img_red)  # the same image twice is stored once
    t.add_data(3, None)
    pairs = fake.add(t, "images")
    paths = [p for p, _ in pairs]
    assert paths[0] == "images.table.json"
    pngs = [p for p in paths if p.startswith("media/images/")]
    assert len(pngs) == 2
    for p in pngs:
        stem = p.rsplit("/", 1)[1]
        assert len(stem) == len("0123456789abcdef0123.png") and stem.endswith(".png")
    doc = fake.json("images.table.json")
    cell = doc["data"][0][1]
    assert cell["_type"] == "image-file"
    assert cell["path"] in pngs
    assert (cell["format"], cell["width"], cell["height"]) == ("png", 6, 8)
    assert doc["data"][2][1]["path"] == cell["path"]
    assert doc["column_types"]["params"]["type_map"]["image"]["params"]["allowed_types"][0][
        "wb_type"
    ] == ("image-file")
    got = fake.get("images")
    assert got == t
    assert isinstance(got.data[0][1], Image)
    assert got.data[0][1].caption == "red"
    assert np.array_equal(np.asarray(got.data[1][1].image), blue)


def test_round_trip_100k_rows(tmp_path: Path) -> None:
    rows = [[i, f"row-{i}", i * 0.5, i % 2 == 0] for i in range(100_000)]
    start = time.perf_counter()
    t = Table(columns=["id", "name", "score", "even"], data=rows)
    got = round_trip(t, tmp_path)
    elapsed = time.perf_counter() - start
    assert got == t
    assert got.get_column("id")[-1] == 99_999
    # The budget is a few seconds on a laptop; this bound only catches a quadratic slip.
    assert elapsed < 10, f"100,000-row round trip took {elapsed:.1f}s"


def test_round_trip_dataframe_with_mixed_dtypes(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "int": np.arange(5, dtype=np.int64),
            "float": [0.5, np.nan, 2.5, 3.5, 4.5],
            "str": ["a", "b", None, "d", "e"],
            "bool": [True, False, True, False, True],
            "when": pd.to_datetime(
                [
                    "2024-01-01 00:00",
                    "2024-02-29 12:30",
                    None,
                    "1999-12-31 00:00",
                    "2030-06-01 00:00",
                ]
            ),
        }
    )
    t = Table(dataframe=df)
    assert t.columns == ["int", "float", "str", "bool", "when"]
    got = round_trip(t, tmp_path)
    assert got == t
    out = got.get_dataframe()
    assert list(out.columns) == list(df.columns)
    pd.testing.assert_series_equal(out["int"], df["int"])
    pd.testing.assert_series_equal(out["float"], df["float"])
    pd.testing.assert_series_equal(out["bool"], df["bool"])
    assert out["str"].isna().tolist() == df["str"].isna().tolist()
    assert out["str"].dropna().tolist() == df["str"].dropna().tolist()
    # Timestamps come back as UTC-aware values (W&B stores milliseconds since the epoch).
    assert out["when"].dt.tz_localize(None).equals(df["when"].astype(out["when"].dtype.base))
    # data= accepts a DataFrame too, as in W&B.
    assert Table(data=df) == t


def test_round_trip_nested_values(tmp_path: Path) -> None:
    when = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    t = Table(
        columns=["list", "dict", "when", "array"],
        data=[
            [[1, 2, 3], {"k": "v", "n": 1}, when, np.arange(4)],
            [(4, 5), {"k": "w", "n": None}, dt.date(2020, 1, 2), np.arange(4) * 2],
        ],
    )
    assert t.data[1][0] == [4, 5]  # tuples are stored as lists
    got = round_trip(t, tmp_path)
    assert got == t
    assert got.data[0][2] == when
    assert isinstance(got.data[1][3], np.ndarray)
    assert got.data[1][3].tolist() == [0, 2, 4, 6]


def test_round_trip_mixed_column(fake: FakeArtifact) -> None:
    t = Table(columns=["a"], data=[[1], ["x"], [None]], allow_mixed_types=True)
    fake.add(t, "m")
    assert fake.json("m.table.json")["column_types"]["params"]["type_map"]["a"] == {
        "wb_type": "union",
        "params": {"allowed_types": [{"wb_type": "any"}, {"wb_type": "none"}]},
    }
    got = fake.get("m")
    assert got == t
    got.add_data(2.5)  # still allows mixing after the round trip


def test_reads_a_table_written_by_w_and_b(fake: FakeArtifact, tmp_path: Path) -> None:
    """A table.json as W&B's client writes it, with an image cell and an .npz array column."""
    png_path = tmp_path / "0123456789abcdef0123.png"
    PILImage.fromarray(np.full((2, 2), 7, dtype=np.uint8)).save(png_path)
    img = Image(str(png_path))
    fake.files["media/images/" + png_path.name] = png_path
    npz = tmp_path / "emb.npz"
    np.savez_compressed(npz, emb=np.arange(6).reshape(2, 3))
    fake.files["media/serialized_data/emb_x.npz"] = npz
    doc = {
        "_type": "table",
        "columns": ["id", "img", "emb", "when"],
        "data": [
            [
                0,
                {
                    "_type": "image-file",
                    "path": "media/images/" + png_path.name,
                    "sha256": img.sha256,
                    "format": "png",
                    "width": 2,
                    "height": 2,
                },
                None,
                1700000000000,
            ],
            [1, None, None, None],
        ],
        "ncols": 4,
        "nrows": 2,
        "column_types": {
            "wb_type": "typedDict",
            "params": {
                "type_map": {
                    "id": {"wb_type": "number"},
                    "img": {
                        "wb_type": "union",
                        "params": {
                            "allowed_types": [
                                {"wb_type": "image-file", "params": {}},
                                {"wb_type": "none"},
                            ]
                        },
                    },
                    "emb": {
                        "wb_type": "ndarray",
                        "params": {
                            "shape": [3],
                            "serialization_path": {
                                "path": "media/serialized_data/emb_x.npz",
                                "key": "emb",
                            },
                        },
                    },
                    "when": {
                        "wb_type": "union",
                        "params": {
                            "allowed_types": [{"wb_type": "none"}, {"wb_type": "timestamp"}]
                        },
                    },
                }
            },
        },
        "log_mode": "IMMUTABLE",
    }
    table_json = tmp_path / "w.table.json"
    table_json.write_text(json.dumps(doc))
    fake.files["w.table.json"] = table_json
    got = fake.get("w")
    assert got.data[0][1] == img
    assert got.data[1][2].tolist() == [3, 4, 5]
    assert got.data[0][3] == dt.datetime.fromtimestamp(1_700_000_000, tz=dt.UTC)
    assert got.data[1][3] is None


def test_data_types_module_and_top_level_names() -> None:
    from cairn.media import data_types

    assert data_types.PartitionedTable is cairn.media.PartitionedTable
    assert data_types.Table is Table


def test_malformed_table_json(fake: FakeArtifact, tmp_path: Path) -> None:
    bad = tmp_path / "bad.table.json"
    bad.write_text(json.dumps({"_type": "table", "columns": ["a", "b"], "data": [[1]]}))
    fake.files["bad.table.json"] = bad
    with pytest.raises(ValidationError, match="does not have 2 cells"):
        fake.get("bad")
    bad.write_text(json.dumps({"_type": "table"}))
    with pytest.raises(ValidationError, match="columns"):
        fake.get("bad")

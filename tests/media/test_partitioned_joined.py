"""PartitionedTable (parts under a folder, read back as one table) and JoinedTable."""

from __future__ import annotations

import pytest

from cairn.errors import ArtifactNotLoggedError, InvalidPathError, ValidationError
from cairn.media import JoinedTable, PartitionedTable, Table, data_types
from tests.media.fake import FakeArtifact


def test_partitioned_table_reads_parts_as_one(fake: FakeArtifact) -> None:
    parts = [Table(columns=["a", "b"], data=[[i, i * 2]]) for i in range(12)]
    for i, part in enumerate(parts):
        fake.add(part, f"parts/table_{i}")
    fake.add(data_types.PartitionedTable("parts"), "whole")
    assert fake.json("whole.partitioned-table.json") == {
        "_type": "partitioned-table",
        "parts_path": "parts",
    }
    got = fake.get("whole")
    assert isinstance(got, PartitionedTable)
    assert got == PartitionedTable("parts")
    # Natural order of the part paths: table_2 before table_10.
    assert got.part_paths[:3] == [
        "parts/table_0.table.json",
        "parts/table_1.table.json",
        "parts/table_2.table.json",
    ]
    assert [row for _, row in got.iterrows()] == [[i, i * 2] for i in range(12)]
    assert got.columns == ["a", "b"]
    whole = got.to_table()
    assert whole == Table(columns=["a", "b"], data=[[i, i * 2] for i in range(12)])
    assert list(got.get_dataframe()["b"]) == [i * 2 for i in range(12)]


def test_partitioned_table_parts_must_match(fake: FakeArtifact) -> None:
    fake.add(Table(columns=["a"], data=[[1]]), "p/0")
    fake.add(Table(columns=["b"], data=[[1]]), "p/1")
    fake.add(PartitionedTable("p"), "t")
    with pytest.raises(ValidationError, match="different columns"):
        list(fake.get("t").iterrows())


def test_partitioned_table_needs_an_artifact() -> None:
    with pytest.raises(ArtifactNotLoggedError):
        list(PartitionedTable("p").iterrows())
    with pytest.raises(InvalidPathError):
        PartitionedTable("../escape")


def test_joined_table_round_trip(fake: FakeArtifact) -> None:
    left = Table(columns=["id", "x"], data=[[1, "a"], [2, "b"]])
    right = Table(columns=["id", "y"], data=[[1, 10.0], [2, 20.0]])
    joined = JoinedTable(left, right, "id")
    pairs = fake.add(joined, "join")
    paths = [p for p, _ in pairs]
    assert paths[0] == "join.joined-table.json"
    doc = fake.json("join.joined-table.json")
    assert doc["_type"] == "joined-table" and doc["join_key"] == "id"
    assert doc["table1"] in paths and doc["table1"].startswith("media/tables/")
    assert doc["table1"].endswith(".table.json")
    got = fake.get("join")
    assert got == joined
    assert got.table1 == left and got.table2 == right


def test_joined_table_of_paths(fake: FakeArtifact) -> None:
    left = Table(columns=["k"], data=[["a"]])
    fake.add(left, "left")
    fake.add(Table(columns=["k"], data=[["a"]]), "right")
    joined = JoinedTable("left.table.json", "right.table.json", ["k", "k"])
    fake.add(joined, "j")
    got = fake.get("j")
    assert got.table1 == left
    assert got == joined  # a side given by path equals the table read from it


def test_joined_table_validation() -> None:
    t = Table(columns=["a"])
    with pytest.raises(ValidationError):
        JoinedTable(t, t, 3)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        JoinedTable(t, "not-a-table", "a")

"""The contract with the SDK: serialize's pairs, deserialize's lookup, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn import media
from cairn.errors import EntryNotFoundError, InvalidPathError, ValidationError
from cairn.media import Html, Table
from tests.media.fake import FakeArtifact


def test_unsupported_object_names_supported_types(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        media.serialize({"a": 1}, "x", tmp_path)
    for name in (
        "Table",
        "PartitionedTable",
        "JoinedTable",
        "Image",
        "Audio",
        "Video",
        "Html",
        "Object3D",
        "Classes",
        "ImageMask",
        "BoundingBoxes2D",
    ):
        assert name in str(err.value)


def test_paths_are_normalised(tmp_path: Path) -> None:
    pairs = media.serialize(Table(columns=["a"]), "./dir/x/", tmp_path)
    assert pairs[0][0] == "dir/x.table.json"
    for bad in ("/abs", "../up", "a/../../b"):
        with pytest.raises(InvalidPathError):
            media.serialize(Table(columns=["a"]), bad, tmp_path)


def test_name_keeps_existing_suffix(tmp_path: Path) -> None:
    pairs = media.serialize(Table(columns=["a"]), "t.table.json", tmp_path)
    assert pairs[0][0] == "t.table.json"


def test_files_stay_inside_staging(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    pairs = media.serialize(Html("<p>x</p>"), "page", staging)
    assert next(p for p, _ in pairs) == "page.html-file.json"
    for _, local in pairs:
        assert local.is_file() and local.parent == staging


def test_missing_object_is_entry_not_found(fake: FakeArtifact) -> None:
    with pytest.raises(EntryNotFoundError) as err:
        fake.get("nothing")
    assert isinstance(err.value, KeyError)
    assert "nothing" in str(err.value)
    assert "nothing.table.json" in fake.reads and "nothing.html-file.json" in fake.reads


def test_kinds_are_tried_by_suffix(fake: FakeArtifact) -> None:
    fake.add(Html("<p>x</p>", inject=False), "page")
    assert fake.get("page").html == "<p>x</p>"
    assert fake.get("page.html-file.json").html == "<p>x</p>"


def test_kinds_cover_the_issue_list() -> None:
    assert set(media.KINDS) == {
        "table",
        "partitioned-table",
        "joined-table",
        "image-file",
        "audio-file",
        "video-file",
        "html-file",
        "object3D-file",
        "classes",
        "mask",
        "bounding-boxes",
    }

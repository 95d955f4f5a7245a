"""Names, types, metadata and entry paths: what is accepted, what is refused and how."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import cairn as wandb
from cairn import naming
from tests.conftest import write

# -- artifact names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bike-dataset", "a", "A.b_c-9", "x" * 128, "v1.2.3", "_"])
def test_good_names(name: str) -> None:
    assert wandb.Artifact(name, type="dataset").name == name


@pytest.mark.parametrize("name", ["has space", "a/b", "a:b", "a@b", "ü", "tab\tname", "a\x00"])
def test_bad_name_characters(name: str) -> None:
    with pytest.raises(ValueError, match="letters"):
        wandb.Artifact(name, type="dataset")


def test_name_too_long() -> None:
    with pytest.raises(ValueError, match="128"):
        wandb.Artifact("x" * 129, type="dataset")


def test_empty_name() -> None:
    with pytest.raises(ValueError):
        wandb.Artifact("", type="dataset")


# -- types ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["dataset", "model", "my-model.v2", "result_x", "t" * 128])
def test_good_types(type_: str) -> None:
    assert wandb.Artifact("n", type=type_).type == type_


@pytest.mark.parametrize("type_", ["has space", "a/b", "a:b", ""])
def test_bad_types(type_: str) -> None:
    with pytest.raises(ValueError):
        wandb.Artifact("n", type=type_)


def test_type_too_long() -> None:
    with pytest.raises(ValueError, match="128"):
        wandb.Artifact("n", type="t" * 129)


@pytest.mark.parametrize("type_", ["wandb-x", "wandb-history", "job"])
def test_reserved_types(type_: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        wandb.Artifact("n", type=type_)


# -- metadata ------------------------------------------------------------------------------------


def test_metadata_100_keys_allowed_101_refused() -> None:
    ok = {f"k{i}": i for i in range(100)}
    assert wandb.Artifact("n", type="dataset", metadata=ok).metadata == ok
    with pytest.raises(ValueError, match="100"):
        wandb.Artifact("n", type="dataset", metadata={f"k{i}": i for i in range(101)})


def test_metadata_must_be_json() -> None:
    with pytest.raises(ValueError):
        wandb.Artifact("n", type="dataset", metadata={"obj": object()})
    with pytest.raises(ValueError):
        wandb.Artifact("n", type="dataset", metadata={"s": {1, 2}})


def test_metadata_nested_structures_kept() -> None:
    meta = {"classes": {"cat": 3, "dog": 4}, "splits": [0.8, 0.2], "name": "x", "n": None}
    assert wandb.Artifact("n", type="dataset", metadata=meta).metadata == meta


def test_metadata_nan_becomes_none() -> None:
    art = wandb.Artifact("n", type="dataset", metadata={"a": math.nan, "b": [1.0, math.nan]})
    assert art.metadata == {"a": None, "b": [1.0, None]}


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_metadata_infinity_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        wandb.Artifact("n", type="dataset", metadata={"a": bad})
    art = wandb.Artifact("n", type="dataset")
    with pytest.raises(ValueError):
        art.metadata = {"nested": {"a": bad}}


def test_metadata_must_be_a_dict() -> None:
    with pytest.raises(ValueError):
        wandb.Artifact("n", type="dataset", metadata=["not", "a", "dict"])  # type: ignore[arg-type]


# -- aliases and tags on a draft -----------------------------------------------------------------


# Drafts have no aliases or tags of their own (W&B raises ArtifactNotLoggedError): the rules
# apply where they are given, log_artifact() and the setters of a logged version.
@pytest.mark.parametrize("alias", ["a/b", "a:b", "x" * 129, "v3", "v0"])
def test_bad_aliases(alias: str) -> None:
    with pytest.raises(ValueError):
        naming.clean_aliases([alias])


def test_good_aliases() -> None:
    good = ["best", "prod-1", "v1.2", "version3"]
    assert naming.clean_aliases(good) == good
    assert naming.clean_aliases("best") == ["best"]  # one string is one alias, as in W&B


@pytest.mark.parametrize("tag", ["a.b", "a:b", "a/b", "", " lead", "trail "])
def test_bad_tags(tag: str) -> None:
    with pytest.raises(ValueError):
        naming.clean_tags([tag])


def test_tags_deduplicated_order_kept() -> None:
    tags = ["zeta", "alpha", "zeta", "two words", "ünïcode_ok-1"]
    assert naming.clean_tags(tags) == ["zeta", "alpha", "two words", "ünïcode_ok-1"]
    assert naming.clean_tags("two words") == ["two words"]


# -- entry paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["../x", "a/../b", "..", "/abs", "/", "a\x00b", "C:/x", "c:x", "C:", ".", "./", ""]
)
def test_bad_entry_names_refused(tmp_path: Path, bad: str) -> None:
    src = write(tmp_path / "f.txt", b"data")
    art = wandb.Artifact("n", type="dataset")
    with pytest.raises(ValueError):
        art.add_file(str(src), name=bad)
    with pytest.raises(ValueError), art.new_file(bad) as f:
        f.write("x")
    assert art.manifest.to_json()["contents"] == {}


@pytest.mark.parametrize("bad", ["../up", "/abs", "a/../../b", "C:/x"])
def test_bad_add_dir_names_refused(tmp_path: Path, bad: str) -> None:
    write(tmp_path / "d" / "f.txt", b"data")
    art = wandb.Artifact("n", type="dataset")
    with pytest.raises(ValueError):
        art.add_dir(str(tmp_path / "d"), name=bad)
    assert art.manifest.to_json()["contents"] == {}


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("./a/", "a"),
        ("a/./b", "a/b"),
        ("./a//b/", "a/b"),
        ("2024-01-01T12:00:00.json", "2024-01-01T12:00:00.json"),
        ("logs/ab:c", "logs/ab:c"),
        ("dir/", "dir"),
        ("./x/y.txt", "x/y.txt"),
        ("with space.txt", "with space.txt"),
    ],
)
def test_entry_names_normalised(tmp_path: Path, given: str, stored: str) -> None:
    src = write(tmp_path / "f.txt", b"data")
    art = wandb.Artifact("n", type="dataset")
    entry = art.add_file(str(src), name=given)
    assert entry.path == stored
    assert list(art.manifest.to_json()["contents"]) == [stored]


def test_add_dir_prefix_normalised(tmp_path: Path) -> None:
    write(tmp_path / "images" / "cat.png", b"c")
    art = wandb.Artifact("n", type="dataset")
    art.add_dir(str(tmp_path / "images"), name="./images/")
    assert list(art.manifest.to_json()["contents"]) == ["images/cat.png"]


def test_policy_must_be_mutable_or_immutable(tmp_path: Path) -> None:
    src = write(tmp_path / "d" / "f.txt", b"data")
    art = wandb.Artifact("n", type="dataset")
    with pytest.raises(ValueError, match="mutable"):
        art.add_file(str(src), policy="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mutable"):
        art.add_dir(str(tmp_path / "d"), policy="sometimes")  # type: ignore[arg-type]
    assert art.manifest.to_json()["contents"] == {}


# -- artifact path strings (Api) -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["a/b/c/d", "a/b/c/d:v0", "bad name:v0", "x:"])
def test_malformed_artifact_paths(path: str) -> None:
    with pytest.raises(ValueError):
        wandb.Api().artifact(path)

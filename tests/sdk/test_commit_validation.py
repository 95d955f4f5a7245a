"""Commit validation on the client (issue 13): a path cannot be both a file and a folder, so the
add that would make it one fails, naming both, before anything is logged; on every backend.

The server's own checks (sizes, clashes, bounds) are in tests/server/test_commit_validation.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import cairn as wandb
from cairn import errors
from cairn.manifest.paths import file_folder_clash
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import entry_paths, log, versions


def _new_file(name: str) -> Callable[[wandb.Artifact, Path], object]:
    def add(art: wandb.Artifact, w: Path) -> object:
        with art.new_file(name) as f:
            f.write("x")
        return None

    return add


def _add_file(name: str) -> Callable[[wandb.Artifact, Path], object]:
    return lambda art, w: art.add_file(str(write(w / "src" / "f.txt", b"f")), name=name)


def _add_dir(name: str) -> Callable[[wandb.Artifact, Path], object]:
    def add(art: wandb.Artifact, w: Path) -> object:
        write(w / "tree" / "inner.txt", b"inner")
        return art.add_dir(str(w / "tree"), name=name)

    return add


@pytest.mark.parametrize(
    ("first", "second", "kept"),
    [
        (_new_file("a"), _add_file("a/b"), {"a"}),
        (_add_file("a/b"), _new_file("a"), {"a/b"}),
        (_add_file("x/y"), _add_dir("x/y"), {"x/y"}),
        (_add_dir("d"), _add_file("d/inner.txt/z"), {"d/inner.txt"}),
    ],
    ids=["file-then-inside", "inside-then-file", "file-then-dir", "dir-then-inside-a-file"],
)
def test_a_file_folder_clash_fails_at_the_add(
    cairn_env: CairnEnv,
    project: str,
    first: Callable[[wandb.Artifact, Path], object],
    second: Callable[[wandb.Artifact, Path], object],
    kept: set[str],
) -> None:
    art = wandb.Artifact("clash", type="dataset")
    first(art, cairn_env.work)
    with pytest.raises(errors.FileFolderConflictError) as info:
        second(art, cairn_env.work)
    assert isinstance(info.value, errors.EntryConflictError)
    assert isinstance(info.value, ValueError)
    assert entry_paths(art) == kept  # the refused add changed nothing
    assert versions(project, "clash", "dataset") == []  # nothing was logged
    # The draft still logs as it was.
    assert entry_paths(log(project, art)) == kept


def test_the_clash_rule() -> None:
    assert file_folder_clash(["a", "a/b"]) == ("a", "a/b")
    assert file_folder_clash(["a/b/c", "a/b"]) == ("a/b", "a/b/c")
    assert file_folder_clash(["q/r"], files={"q": 1}) == ("q", "q/r")
    assert file_folder_clash(["a", "a-b/c", "ab", "a.b/c"]) is None
    assert file_folder_clash([]) is None

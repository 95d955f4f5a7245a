"""W&B parity of drafts: what needs a logged artifact, new_file modes, add() and reference
errors, metadata as a JSON string (issue #15)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn as wandb
from cairn import errors
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, log


def _draft(env: CairnEnv) -> wandb.Artifact:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(env.work / "a.txt", b"a")))
    return art


def test_draft_source_name_is_the_bare_name(cairn_env: CairnEnv, project: str) -> None:
    art = _draft(cairn_env)
    assert art.source_name == "d"
    logged = log(project, art)
    assert logged.source_name == "d:v0"


def _set_aliases(a: wandb.Artifact) -> None:
    a.aliases = ["x"]


def _set_tags(a: wandb.Artifact) -> None:
    a.tags = ["x"]


# W&B 0.31 raises ArtifactNotLoggedError for each of these on a draft.
_NEEDS_LOGGED: dict[str, Callable[[wandb.Artifact], Any]] = {
    "get_entry": lambda a: a.get_entry("a.txt"),
    "get_path": lambda a: a.get_path("a.txt"),
    "file_count": lambda a: a.file_count,
    "wait": lambda a: a.wait(),
    "aliases": lambda a: a.aliases,
    "aliases=": _set_aliases,
    "tags": lambda a: a.tags,
    "tags=": _set_tags,
    "history_step": lambda a: a.history_step,
    "updated_at": lambda a: a.updated_at,
    "source_qualified_name": lambda a: a.source_qualified_name,
}


@pytest.mark.parametrize("op", sorted(_NEEDS_LOGGED))
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_draft_operation_needs_a_logged_artifact(cairn_env: CairnEnv, op: str) -> None:
    with pytest.raises(errors.ArtifactNotLoggedError):
        _NEEDS_LOGGED[op](_draft(cairn_env))


def test_logged_artifact_answers_the_draft_only_questions(
    cairn_env: CairnEnv, project: str
) -> None:
    art = log(project, _draft(cairn_env))
    assert art.get_entry("a.txt").digest == b64md5(b"a")
    assert art.file_count == 1
    assert art.wait() is art
    assert art.aliases == ["latest"] and art.tags == []


def test_new_file_mode_w_replaces_an_entry(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    with art.new_file("notes.txt", mode="w") as f:
        f.write("first")
    with art.new_file("notes.txt", mode="w") as f:
        f.write("second")
    assert art.manifest.to_json()["contents"]["notes.txt"]["digest"] == b64md5(b"second")
    logged = log(project, art)
    assert Path(logged.get_entry("notes.txt").download()).read_text() == "second"


def test_new_file_mode_x_refuses_an_existing_entry(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    with art.new_file("notes.txt", mode="x") as f:
        f.write("first")
    with pytest.raises(ValueError), art.new_file("notes.txt", mode="x") as f:
        f.write("second")
    assert art.manifest.to_json()["contents"]["notes.txt"]["digest"] == b64md5(b"first")


def test_add_of_an_unsupported_object_is_a_type_error(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(TypeError):
        art.add({"not": "media"}, "thing")
    assert art.manifest.to_json()["contents"] == {}


def test_a_missing_file_reference_is_a_value_error(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    missing = (cairn_env.work / "nowhere.bin").as_uri()
    with pytest.raises(ValueError) as info:
        art.add_reference(missing)
    assert isinstance(info.value, LookupError)  # older `except LookupError` still catches it


def test_a_vanished_file_reference_is_a_value_error_at_download(
    cairn_env: CairnEnv, project: str
) -> None:
    src = write(cairn_env.work / "ref.bin", b"ref")
    art = wandb.Artifact("d", type="dataset")
    art.add_reference(src.as_uri())
    logged = log(project, art)
    os.unlink(src)
    with pytest.raises(ValueError):
        logged.download(root=str(cairn_env.work / "out"))


def test_metadata_given_as_a_json_string_is_parsed(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset", metadata='{"rows": 3, "split": {"train": 2}}')
    art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    assert art.metadata == {"rows": 3, "split": {"train": 2}}
    art.metadata = '{"rows": 4}'
    logged = log(project, art)
    assert wandb.Api().artifact(logged.qualified_name).metadata == {"rows": 4}


def test_metadata_string_that_is_not_json_is_refused(cairn_env: CairnEnv) -> None:
    with pytest.raises(ValueError):
        wandb.Artifact("d", type="dataset", metadata="rows=3")


def test_an_unknown_scheme_reference_needs_a_name(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    with pytest.raises(ValueError, match="name="):
        art.add_reference("ftp://archive.example/data/x.bin")
    (entry,) = art.add_reference("ftp://archive.example/data/x.bin", name="raw/x.bin")
    assert (entry.path, entry.digest) == ("raw/x.bin", "ftp://archive.example/data/x.bin")

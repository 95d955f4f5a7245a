"""Draft rules: adding, overwriting, removing, freezing, and what needs a logged artifact."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn as wandb
from cairn import errors
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, entry_paths, log, tree, versions


def test_same_path_different_content_conflicts(cairn_env: CairnEnv) -> None:
    w = cairn_env.work
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(w / "a" / "f.txt", b"one")))
    with pytest.raises(errors.EntryConflictError) as info:
        art.add_file(str(write(w / "b" / "f.txt", b"two")))
    assert isinstance(info.value, ValueError)
    assert art.manifest.to_json()["contents"]["f.txt"]["digest"] == b64md5(b"one")


def test_overwrite_replaces(cairn_env: CairnEnv) -> None:
    w = cairn_env.work
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(w / "a" / "f.txt", b"one")))
    entry = art.add_file(str(write(w / "b" / "f.txt", b"two")), overwrite=True)
    assert entry.digest == b64md5(b"two")
    assert art.manifest.to_json()["contents"]["f.txt"]["digest"] == b64md5(b"two")


def test_same_path_same_content_is_noop(cairn_env: CairnEnv) -> None:
    w = cairn_env.work
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(w / "a" / "f.txt", b"same")))
    art.add_file(str(write(w / "b" / "f.txt", b"same")))
    assert entry_paths(art) == {"f.txt"}
    assert len(art.manifest) == 1


def test_add_dir_conflict_is_all_or_nothing(cairn_env: CairnEnv) -> None:
    w = cairn_env.work
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(w / "x.txt", b"original")))
    write(w / "d" / "new.txt", b"new")
    write(w / "d" / "x.txt", b"clash")
    with pytest.raises(ValueError):
        art.add_dir(str(w / "d"))
    assert entry_paths(art) == {"x.txt"}


def test_new_file_existing_name_refused(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    with art.new_file("a.txt") as f:
        f.write("first")
    with pytest.raises(ValueError), art.new_file("a.txt") as f:
        f.write("second")
    assert art.manifest.to_json()["contents"]["a.txt"]["digest"] == b64md5(b"first")


# -- finalized artifacts -----------------------------------------------------------------------


def _mutations(w: Path) -> dict[str, Callable[[wandb.Artifact], Any]]:
    f = write(w / "extra.txt", b"extra")
    write(w / "dir" / "g.txt", b"g")

    def new_file(a: wandb.Artifact) -> None:
        with a.new_file("n.txt") as fh:
            fh.write("x")

    return {
        "add_file": lambda a: a.add_file(str(f)),
        "add_dir": lambda a: a.add_dir(str(w / "dir")),
        "new_file": new_file,
        "add_reference": lambda a: a.add_reference("file://" + str(f)),
        "remove": lambda a: a.remove("a.txt"),
    }


@pytest.mark.parametrize("op", ["add_file", "add_dir", "new_file", "add_reference", "remove"])
def test_logged_artifact_is_finalized(cairn_env: CairnEnv, project: str, op: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    log(project, art)
    mutate = _mutations(cairn_env.work)[op]
    with pytest.raises(wandb.ArtifactFinalizedError):
        mutate(art)
    fetched = wandb.Api().artifact(f"{project}/d:v0")
    with pytest.raises(wandb.ArtifactFinalizedError):
        mutate(fetched)
    assert entry_paths(fetched) == {"a.txt"}
    assert versions(project, "d", "dataset") == ["v0"]


def test_finalize_freezes_a_draft(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    art.finalize()
    for mutate in _mutations(cairn_env.work).values():
        with pytest.raises(wandb.ArtifactFinalizedError):
            mutate(art)
    assert entry_paths(art) == {"a.txt"}


# -- operations needing a logged artifact -------------------------------------------------------

_NEEDS_LOGGED: dict[str, Callable[[wandb.Artifact], Any]] = {
    "download": lambda a: a.download(),
    "checkout": lambda a: a.checkout(),
    "verify": lambda a: a.verify(),
    "file": lambda a: a.file(),
    "files": lambda a: list(a.files()),
    "version": lambda a: a.version,
    "source_version": lambda a: a.source_version,
    "entity": lambda a: a.entity,
    "project": lambda a: a.project,
    "qualified_name": lambda a: a.qualified_name,
    "collection": lambda a: a.collection,
    "commit_hash": lambda a: a.commit_hash,
    "created_at": lambda a: a.created_at,
    "logged_by": lambda a: a.logged_by(),
    "used_by": lambda a: a.used_by(),
    "json_encode": lambda a: a.json_encode(),
    "new_draft": lambda a: a.new_draft(),
    "delete": lambda a: a.delete(),
    "link": lambda a: a.link("portfolio"),
    "unlink": lambda a: a.unlink(),
    "get": lambda a: a.get("a.txt"),
    "getitem": lambda a: a["a.txt"],
}


@pytest.mark.parametrize("op", sorted(_NEEDS_LOGGED))
def test_draft_raises_not_logged(cairn_env: CairnEnv, op: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    with pytest.raises(wandb.ArtifactNotLoggedError):
        _NEEDS_LOGGED[op](art)
    assert not (Path.cwd() / "artifacts").exists()


def test_draft_identity(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset", description="desc", metadata={"k": 1})
    assert art.is_draft()
    assert art.id is None
    assert art.name == "d"
    assert art.type == "dataset"
    assert art.description == "desc"
    assert art.metadata == {"k": 1}
    assert art.source_name == "d"
    assert art.state == "PENDING"


# -- remove ------------------------------------------------------------------------------------


def test_remove_file_and_directory(cairn_env: CairnEnv) -> None:
    w = cairn_env.work
    write(w / "d" / "sub" / "a.txt", b"a")
    write(w / "d" / "sub" / "b.txt", b"b")
    write(w / "d" / "subway.txt", b"not under sub/")
    write(w / "d" / "top.txt", b"t")
    art = wandb.Artifact("d", type="dataset")
    art.add_dir(str(w / "d"))
    art.remove("top.txt")
    assert entry_paths(art) == {"sub/a.txt", "sub/b.txt", "subway.txt"}
    art.remove("sub")
    assert entry_paths(art) == {"subway.txt"}
    entry = art.get_added_local_path_name(str(w / "d" / "subway.txt"))
    assert entry == "subway.txt"


def test_remove_by_entry(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    e = art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    art.add_file(str(write(cairn_env.work / "b.txt", b"b")))
    art.remove(e)
    assert entry_paths(art) == {"b.txt"}


def test_remove_missing_raises_file_not_found(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    with pytest.raises(FileNotFoundError):
        art.remove("nope.txt")
    with pytest.raises(FileNotFoundError):
        art.remove("a")  # a prefix of a name is not a folder
    assert entry_paths(art) == {"a.txt"}


def test_removed_then_readded_path(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "x" / "a.txt", b"old")))
    art.remove("a.txt")
    art.add_file(str(write(cairn_env.work / "y" / "a.txt", b"new")))
    log(project, art)
    root = wandb.Api().artifact(f"{project}/d:v0").download(root=str(cairn_env.work / "out"))
    assert tree(root) == {"a.txt": b"new"}


# -- entries -----------------------------------------------------------------------------------


def test_get_entry_missing_raises_key_error(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    log(project, art)
    fetched = wandb.Api().artifact(f"{project}/d:v0")
    with pytest.raises(KeyError):
        fetched.get_entry("b.txt")
    entry = fetched.get_entry("a.txt")
    assert entry.path == "a.txt"
    assert entry.digest == b64md5(b"a")
    assert entry.size == 1


def test_get_path_is_deprecated(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"a")))
    log(project, art)
    fetched = wandb.Api().artifact(f"{project}/d:v0")
    with pytest.warns(DeprecationWarning):
        entry = fetched.get_path("a.txt")
    assert entry.path == "a.txt"


def test_get_added_local_path_name(cairn_env: CairnEnv) -> None:
    w = cairn_env.work
    art = wandb.Artifact("d", type="dataset")
    f = write(w / "file.txt", b"f")
    write(w / "dir" / "in" / "g.txt", b"g")
    art.add_file(str(f), name="renamed/file.txt")
    art.add_dir(str(w / "dir"), name="pre")
    assert art.get_added_local_path_name(str(f)) == "renamed/file.txt"
    assert art.get_added_local_path_name(str(w / "dir" / "in" / "g.txt")) == "pre/in/g.txt"
    assert art.get_added_local_path_name(str(w / "never-added.txt")) is None


# -- policies ----------------------------------------------------------------------------------


def test_mutable_policy_snapshots_the_file(cairn_env: CairnEnv, project: str) -> None:
    src = write(cairn_env.work / "data.bin", b"original bytes")
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(src))  # policy="mutable" is the default
    src.write_bytes(b"changed after add_file!")
    log(project, art)
    root = wandb.Api().artifact(f"{project}/d:v0").download(root=str(cairn_env.work / "out"))
    assert tree(root) == {"data.bin": b"original bytes"}
    assert (
        wandb.Api().artifact(f"{project}/d:v0").digest
        == hashlib.md5(
            b"wandb-artifact-manifest-v1\ndata.bin:" + b64md5(b"original bytes").encode() + b"\n"
        ).hexdigest()
    )


def test_mutable_policy_snapshots_a_directory(cairn_env: CairnEnv, project: str) -> None:
    write(cairn_env.work / "d" / "a.txt", b"a-original")
    art = wandb.Artifact("d", type="dataset")
    art.add_dir(str(cairn_env.work / "d"), skip_cache=True)
    (cairn_env.work / "d" / "a.txt").write_bytes(b"a-changed")
    log(project, art)
    root = wandb.Api().artifact(f"{project}/d:v0").download(root=str(cairn_env.work / "out"))
    assert tree(root) == {"a.txt": b"a-original"}


def test_immutable_policy_changed_file_fails_log(cairn_env: CairnEnv, project: str) -> None:
    # unique bytes: a shared server must not already hold them from another test
    src = write(cairn_env.work / "data.bin", b"original bytes " + uuid.uuid4().bytes)
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(src), policy="immutable")
    src.write_bytes(b"changed after add_file!")
    # the error comes from wait() or, at the latest, from the run's end
    with pytest.raises(Exception) as info, wandb.init(project=project) as run:
        run.log_artifact(art).wait()
    assert str(info.value).strip()
    assert not wandb.Api().artifact_exists(f"{project}/d")


def test_immutable_policy_unchanged_file_logs(cairn_env: CairnEnv, project: str) -> None:
    src = write(cairn_env.work / "data.bin", b"bytes")
    art = wandb.Artifact("d", type="dataset")
    art.add_file(str(src), policy="immutable")
    log(project, art)
    root = wandb.Api().artifact(f"{project}/d:v0").download(root=str(cairn_env.work / "out"))
    assert tree(root) == {"data.bin": b"bytes"}


# -- is_tmp and new_file -----------------------------------------------------------------------


def test_is_tmp_renames_by_content(cairn_env: CairnEnv) -> None:
    data = b"temporary content"
    hex20 = hashlib.md5(data).hexdigest()[:20]
    art = wandb.Artifact("d", type="dataset")
    e = art.add_file(str(write(cairn_env.work / "tmp123.json", data)), is_tmp=True)
    assert e.path == f"{hex20}.json"
    e2 = art.add_file(
        str(write(cairn_env.work / "other.png", data)), name="media/img.png", is_tmp=True
    )
    assert e2.path == f"media/{hex20}.png"
    assert entry_paths(art) == {f"{hex20}.json", f"media/{hex20}.png"}


def test_new_file_text_default_mode(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("d", type="dataset")
    with art.new_file("notes/hello.txt") as f:
        f.write("héllo")
    with art.new_file("raw.bin", mode="wb") as f:
        f.write(b"\x00\xff")
    with art.new_file("utf16.txt", mode="w", encoding="utf-16") as f:
        f.write("hi")
    log(project, art)
    root = wandb.Api().artifact(f"{project}/d:v0").download(root=str(cairn_env.work / "out"))
    assert tree(root) == {
        "notes/hello.txt": "héllo".encode(),
        "raw.bin": b"\x00\xff",
        "utf16.txt": "hi".encode("utf-16"),
    }


def test_new_file_on_finalized_raises_before_opening(cairn_env: CairnEnv) -> None:
    art = wandb.Artifact("d", type="dataset")
    art.finalize()
    with pytest.raises(wandb.ArtifactFinalizedError), art.new_file("x.txt"):
        pass

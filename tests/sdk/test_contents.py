"""What add_file / add_dir / new_file / add_reference put in an artifact (the spec tables)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, entry_paths, log, tree


@pytest.fixture
def project_dir(cairn_env: CairnEnv, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The spec's example directory, made the working directory (relative paths as in the docs)."""
    w = cairn_env.work
    write(w / "hello.txt", b"hello")
    write(w / "images" / "cat.png", b"\x89PNG cat")
    write(w / "images" / "dog.png", b"\x89PNG dog")
    write(w / "checkpoints" / "model.h5", b"checkpoint weights")
    write(w / "model.h5", b"top weights")
    write(w / "models" / "model.h5", b"models weights")
    monkeypatch.chdir(w)
    return w


# -- construct-an-artifact.md / artifacts-api-guide.md tables --------------------------------


def test_add_file_uses_basename(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    entry = art.add_file("model.h5")
    assert entry.path == "model.h5"
    assert entry_paths(art) == {"model.h5"}


def test_add_file_in_subfolder_uses_basename(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    art.add_file("checkpoints/model.h5")
    assert entry_paths(art) == {"model.h5"}
    assert art.manifest.to_json()["contents"]["model.h5"]["digest"] == b64md5(b"checkpoint weights")


def test_add_file_with_name(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    art.add_file("model.h5", name="models/mymodel.h5")
    assert entry_paths(art) == {"models/mymodel.h5"}


def test_add_file_with_nested_new_name(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    art.add_file(local_path="hello.txt", name="new/path/hello_world.txt")
    assert entry_paths(art) == {"new/path/hello_world.txt"}


def test_add_dir_at_root(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    art.add_dir("images")
    assert entry_paths(art) == {"cat.png", "dog.png"}


def test_add_dir_with_name(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    art.add_dir("images", name="images")
    assert entry_paths(art) == {"images/cat.png", "images/dog.png"}


def test_add_dir_recurses_with_relative_paths(project_dir: Path) -> None:
    write(project_dir / "deep" / "a" / "b" / "c.txt", b"c")
    write(project_dir / "deep" / "top.txt", b"t")
    art = wandb.Artifact("t", type="dataset")
    art.add_dir("deep", name="pre/fix")
    assert entry_paths(art) == {"pre/fix/a/b/c.txt", "pre/fix/top.txt"}


def test_new_file(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    with art.new_file("hello.txt") as f:
        f.write("hi there")
    assert entry_paths(art) == {"hello.txt"}
    contents = art.manifest.to_json()["contents"]
    assert contents["hello.txt"]["digest"] == b64md5(b"hi there")
    assert contents["hello.txt"]["size"] == 8


def test_contents_round_trip_through_log(project_dir: Path, project: str) -> None:
    art = wandb.Artifact("t", type="dataset")
    art.add_file("checkpoints/model.h5")
    art.add_dir("images", name="images")
    art.add_file("model.h5", name="models/mymodel.h5")
    logged = log(project, art)
    root = wandb.Api().artifact(f"{project}/t:v0").download(root=str(project_dir / "out"))
    assert tree(root) == {
        "model.h5": b"checkpoint weights",
        "images/cat.png": b"\x89PNG cat",
        "images/dog.png": b"\x89PNG dog",
        "models/mymodel.h5": b"top weights",
    }
    assert logged.file_count == 4


def test_add_file_missing_local_path(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    with pytest.raises((FileNotFoundError, ValueError)):
        art.add_file("no-such-file.txt")
    with pytest.raises((FileNotFoundError, ValueError)):
        art.add_dir("no-such-dir")
    assert entry_paths(art) == set()


# -- file:// references ------------------------------------------------------------------------


def _uri(p: Path) -> str:
    return "file://" + str(p.resolve())


def test_reference_file_infers_name(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    uri = _uri(project_dir / "checkpoints" / "model.h5")
    (entry,) = art.add_reference(uri)
    assert entry.path == "model.h5"
    assert entry.ref == uri
    assert entry.digest == b64md5(b"checkpoint weights")
    assert entry.size == len(b"checkpoint weights")
    contents = art.manifest.to_json()["contents"]
    assert contents["model.h5"]["ref"] == uri


def test_reference_file_with_name(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    art.add_reference(_uri(project_dir / "model.h5"), name="models/mymodel.h5")
    assert entry_paths(art) == {"models/mymodel.h5"}


def test_reference_directory_is_walked(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    entries = art.add_reference(_uri(project_dir / "images"))
    assert sorted(e.path for e in entries) == ["cat.png", "dog.png"]
    assert entry_paths(art) == {"cat.png", "dog.png"}
    art2 = wandb.Artifact("t2", type="dataset")
    art2.add_reference(_uri(project_dir / "images"), name="images")
    assert entry_paths(art2) == {"images/cat.png", "images/dog.png"}
    digests = {e.path: e.digest for e in entries}
    assert digests == {"cat.png": b64md5(b"\x89PNG cat"), "dog.png": b64md5(b"\x89PNG dog")}


def test_reference_round_trip(project_dir: Path, project: str) -> None:
    art = wandb.Artifact("refs", type="dataset")
    art.add_reference(_uri(project_dir / "images"), name="images")
    art.add_reference(_uri(project_dir / "hello.txt"))
    log(project, art)
    got = wandb.Api().artifact(f"{project}/refs:latest")
    root = got.download(root=str(project_dir / "out"))
    assert tree(root) == {
        "images/cat.png": b"\x89PNG cat",
        "images/dog.png": b"\x89PNG dog",
        "hello.txt": b"hello",
    }
    assert got.get_entry("hello.txt").ref == _uri(project_dir / "hello.txt")


def test_reference_without_checksum_records_only_the_uri(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    uri = _uri(project_dir / "images")
    entries = art.add_reference(uri, checksum=False)
    assert [e.path for e in entries] == ["images"]  # the directory is not walked
    assert entry_paths(art) == {"images"}
    assert entries[0].ref == uri
    (f,) = art.add_reference(_uri(project_dir / "hello.txt"), checksum=False)
    assert f.path == "hello.txt"
    assert f.ref == _uri(project_dir / "hello.txt")
    assert f.digest != b64md5(b"hello")  # nothing was read


def test_reference_without_checksum_versions_only_on_uri_change(
    project_dir: Path, project: str
) -> None:
    target = project_dir / "hello.txt"
    a = wandb.Artifact("nock", type="dataset")
    a.add_reference(_uri(target), checksum=False)
    first = log(project, a)
    target.write_bytes(b"changed content")
    b = wandb.Artifact("nock", type="dataset")
    b.add_reference(_uri(target), checksum=False)
    second = log(project, b)
    assert second.version == "v0"
    assert second.id == first.id
    c = wandb.Artifact("nock", type="dataset")
    c.add_reference(_uri(project_dir / "model.h5"), checksum=False)
    assert log(project, c).version == "v1"


def test_reference_max_objects_exceeded(project_dir: Path) -> None:
    art = wandb.Artifact("t", type="dataset")
    with pytest.raises(ValueError, match="max_objects"):
        art.add_reference(_uri(project_dir / "images"), max_objects=1)
    assert entry_paths(art) == set()
    art.add_reference(_uri(project_dir / "images"), max_objects=2)
    assert entry_paths(art) == {"cat.png", "dog.png"}


def test_symlinked_file_followed_by_add_dir(project_dir: Path) -> None:
    if not hasattr(os, "symlink"):
        pytest.skip("no symlinks")
    (project_dir / "linked").mkdir()
    os.symlink(project_dir / "hello.txt", project_dir / "linked" / "h.txt")
    art = wandb.Artifact("t", type="dataset")
    art.add_dir("linked")
    assert art.manifest.to_json()["contents"]["h.txt"]["digest"] == b64md5(b"hello")

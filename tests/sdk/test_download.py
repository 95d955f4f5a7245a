"""download / checkout / verify / file / files / get_entry().download()."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import log, tree


def edit_in_place(path: Path, data: bytes) -> None:
    """What its owner can do to a downloaded file, read-only or not: make it writable, then
    overwrite its bytes in place (the same inode, so a hard link to the cache would see it).
    Writing without the chmod passes only as root, which ignores permission bits."""
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()


_rng = random.Random(1234)
FILES = {
    "README.md": b"# data\n",
    "empty.txt": b"",
    "images/cat.png": bytes(_rng.randrange(256) for _ in range(3000)),
    "images/dog.png": bytes(_rng.randrange(256) for _ in range(5000)),
    "deep/a/b/c/d.bin": bytes(_rng.randrange(256) for _ in range(70_000)),
    "deep/a/x y.txt": "spaces and ünïcode".encode(),
    "dup1.bin": b"same bytes",
    "dup2.bin": b"same bytes",
    # code-point order: "-" < "." < "/" < "Z" < "a" < "é"
    "a-b.txt": b"dash",
    "a.b": b"dot",
    "a/b.txt": b"slash",
    "Zed.txt": b"upper",
    "\u00e9t\u00e9/\u00e7a.txt": b"unicode name",
}


@pytest.fixture
def logged(cairn_env: CairnEnv, project: str) -> wandb.Artifact:
    src = cairn_env.work / "src"
    for path, data in FILES.items():
        write(src / path, data)
    art = wandb.Artifact("tree", type="dataset")
    art.add_dir(str(src))
    log(project, art)
    return wandb.Api().artifact(f"{project}/tree:v0")


def test_round_trip_default_root(logged: wandb.Artifact) -> None:
    path = logged.download()
    expected = Path.cwd() / "artifacts" / "tree:v0"
    assert Path(path).resolve() == expected.resolve()
    assert tree(expected) == FILES


def test_round_trip_explicit_root(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "explicit"
    assert Path(logged.download(root=str(root))).resolve() == root.resolve()
    assert tree(root) == FILES


def test_download_keeps_unrelated_files(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "r"
    write(root / "mine.txt", b"keep me")
    write(root / "images" / "mine.png", b"keep me too")
    logged.download(root=str(root))
    assert tree(root) == FILES | {"mine.txt": b"keep me", "images/mine.png": b"keep me too"}


def test_second_download_is_complete_after_deletion(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "r"
    logged.download(root=str(root))
    (root / "images" / "cat.png").unlink()
    logged.download(root=str(root))
    assert tree(root) == FILES


def test_path_prefix(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "p"
    logged.download(root=str(root), path_prefix="images/")
    assert tree(root) == {k: v for k, v in FILES.items() if k.startswith("images/")}
    root2 = tmp_path / "p2"
    logged.download(root=str(root2), path_prefix="deep/a/b")
    assert tree(root2) == {"deep/a/b/c/d.bin": FILES["deep/a/b/c/d.bin"]}


def test_skip_cache(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "s"
    logged.download(root=str(root), skip_cache=True)
    assert tree(root) == FILES


def test_download_in_fresh_process_state(
    logged: wandb.Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an empty client cache must not matter
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "other-cache"))
    from cairn.sdk import context

    context.reset()
    art = wandb.Api().artifact(f"{logged.project}/tree:v0")
    assert tree(art.download(root=str(tmp_path / "fresh"))) == FILES


def test_downloads_are_ordinary_writable_files(logged: wandb.Artifact, tmp_path: Path) -> None:
    # The default: what W&B users expect. Written without any chmod, as an ordinary user
    # would (CI runs this file unprivileged, where a read-only file raises PermissionError).
    a, b = tmp_path / "a", tmp_path / "b"
    logged.download(root=str(a))
    logged.download(root=str(b))
    for f in a.rglob("*"):
        if f.is_file():
            assert f.stat().st_mode & stat.S_IWUSR, f"{f} is read-only"
            assert f.stat().st_nlink == 1, f"{f} shares its inode"
    with open(a / "images" / "cat.png", "r+b") as f:
        f.write(b"CORRUPTED")
    (a / "dup1.bin").write_bytes(b"rewritten")  # the other file of the same blob is untouched
    assert tree(b) == FILES
    assert (a / "dup2.bin").read_bytes() == FILES["dup2.bin"]
    c = tmp_path / "c"
    logged.download(root=str(c))  # the cache was not changed either
    assert tree(c) == FILES
    logged.verify(root=str(c))


def test_hardlink_mode_downloads_are_read_only(
    logged: wandb.Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The opt-in fast mode: hard links to read-only cache objects, so an edit in place fails
    # for ordinary users instead of reaching other copies.
    monkeypatch.setenv("CAIRN_LINK_MODE", "hardlink")
    fetched = wandb.Api().artifact(logged.qualified_name)
    a, b = tmp_path / "a", tmp_path / "b"
    fetched.download(root=str(a))
    fetched.download(root=str(b))
    for root in (a, b):
        for f in root.rglob("*"):
            if f.is_file():
                assert f.stat().st_mode & 0o222 == 0, f"{f} is writable"
    assert (a / "images" / "cat.png").stat().st_ino == (b / "images" / "cat.png").stat().st_ino


def test_copy_mode_gives_independent_copies(
    logged: wandb.Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_LINK_MODE", "copy")
    fetched = wandb.Api().artifact(logged.qualified_name)
    a, b = tmp_path / "a", tmp_path / "b"
    fetched.download(root=str(a))
    fetched.download(root=str(b))
    with open(a / "images" / "cat.png", "r+b") as f:
        f.write(b"CORRUPTED")
    assert tree(b) == FILES


@pytest.mark.parametrize("mode", ["copy", "hardlink"])
def test_editing_a_download_does_not_poison_later_downloads(
    logged: wandb.Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("CAIRN_LINK_MODE", mode)
    fetched = wandb.Api().artifact(logged.qualified_name)
    a = tmp_path / "a"
    fetched.download(root=str(a))
    edit_in_place(a / "images" / "cat.png", b"CORRUPTED")
    c = tmp_path / "c"
    fetched.download(root=str(c))
    assert tree(c) == FILES
    fetched.verify(root=str(c))


def test_download_replaces_a_wrong_file_in_place(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "r"
    write(root / "images" / "cat.png", b"someone else's bytes")
    logged.download(root=str(root))
    assert tree(root) == FILES
    assert not [p for p in root.rglob(".cairn-tmp-*")]


def test_checkout_makes_folder_match(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "co"
    write(root / "extra.txt", b"x")
    write(root / "extra-dir" / "nested" / "y.txt", b"y")
    write(root / "README.md", b"locally edited")
    out = logged.checkout(root=str(root))
    assert Path(out).resolve() == root.resolve()
    assert tree(root) == FILES
    assert not (root / "extra-dir").exists()
    logged.verify(root=str(root))


def test_verify_passes_on_fresh_download(logged: wandb.Artifact) -> None:
    root = logged.download()
    logged.verify(root=root)
    logged.verify()  # default root is the default download folder


def test_verify_names_every_difference(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "v"
    logged.download(root=str(root))
    (root / "images" / "dog.png").unlink()
    edit_in_place(root / "deep" / "a" / "x y.txt", b"modified")
    write(root / "surprise.txt", b"?")
    with pytest.raises(ValueError) as info:
        logged.verify(root=str(root))
    msg = str(info.value)
    assert "images/dog.png" in msg
    assert "deep/a/x y.txt" in msg
    assert "surprise.txt" in msg
    assert "cat.png" not in msg


def test_verify_empty_file_modified(logged: wandb.Artifact, tmp_path: Path) -> None:
    root = tmp_path / "v"
    logged.download(root=str(root))
    edit_in_place(root / "empty.txt", b"not empty")
    with pytest.raises(ValueError, match=r"empty\.txt"):
        logged.verify(root=str(root))


def test_file_single(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("one", type="model")
    art.add_file(str(write(cairn_env.work / "model.h5", b"weights")))
    log(project, art)
    got = wandb.Api().artifact(f"{project}/one:v0")
    path = got.file()
    assert Path(path).resolve() == (Path.cwd() / "artifacts" / "one:v0" / "model.h5").resolve()
    assert Path(path).read_bytes() == b"weights"
    p2 = got.file(root=str(cairn_env.work / "elsewhere"))
    assert Path(p2).resolve() == (cairn_env.work / "elsewhere" / "model.h5").resolve()
    assert Path(p2).read_bytes() == b"weights"


def test_file_refuses_many(logged: wandb.Artifact) -> None:
    with pytest.raises(ValueError):
        logged.file()


def test_files_pages_in_path_order(logged: wandb.Artifact) -> None:
    files = logged.files(per_page=2)
    names = [f.name for f in files]
    assert names == sorted(FILES)
    assert len(logged.files()) == len(FILES)
    sizes = {f.name: f.size for f in logged.files(per_page=3)}
    assert sizes == {k: len(v) for k, v in FILES.items()}


def test_files_by_names(logged: wandb.Artifact) -> None:
    got = [f.name for f in logged.files(names=["images/dog.png", "README.md", "absent"])]
    assert sorted(got) == ["README.md", "images/dog.png"]


def test_entry_download(logged: wandb.Artifact, tmp_path: Path) -> None:
    entry = logged.get_entry("deep/a/b/c/d.bin")
    path = entry.download()
    assert Path(path).read_bytes() == FILES["deep/a/b/c/d.bin"]
    assert Path(path).as_posix().endswith("deep/a/b/c/d.bin")
    p2 = logged.get_entry("images/cat.png").download(root=str(tmp_path / "e"))
    assert Path(p2).resolve() == (tmp_path / "e" / "images" / "cat.png").resolve()
    assert tree(tmp_path / "e") == {"images/cat.png": FILES["images/cat.png"]}


def test_download_via_use_artifact(logged: wandb.Artifact, project: str) -> None:
    with wandb.init(project=project, job_type="train") as run:
        path = run.use_artifact("tree:latest").download()
    assert tree(path) == FILES


def test_download_after_source_deleted(cairn_env: CairnEnv, project: str) -> None:
    src = write(cairn_env.work / "gone.txt", b"bytes that must be in the store")
    art = wandb.Artifact("g", type="dataset")
    art.add_file(str(src))
    log(project, art)
    os.unlink(src)
    root = (
        wandb.Api()
        .artifact(f"{project}/g:v0")
        .download(root=str(cairn_env.work / "out"), skip_cache=True)
    )
    assert tree(root) == {"gone.txt": b"bytes that must be in the store"}


def test_verify_ignores_references(cairn_env: CairnEnv, project: str) -> None:
    target = write(cairn_env.work / "external" / "ref.txt", b"referenced")
    art = wandb.Artifact("withref", type="dataset")
    art.add_file(str(write(cairn_env.work / "stored.txt", b"stored")))
    art.add_reference("file://" + str(target.resolve()))
    log(project, art)
    got = wandb.Api().artifact(f"{project}/withref:v0")
    root = Path(got.download(root=str(cairn_env.work / "out")))
    assert tree(root) == {"stored.txt": b"stored", "ref.txt": b"referenced"}
    edit_in_place(root / "ref.txt", b"edited reference copy")
    got.verify(root=str(root))  # references are not verified
    edit_in_place(root / "stored.txt", b"edited stored file")
    with pytest.raises(ValueError, match=r"stored\.txt"):
        got.verify(root=str(root))

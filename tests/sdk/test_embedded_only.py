"""Facts only the embedded store has: the client checksum memo, and the store on disk."""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, log


@pytest.fixture(autouse=True)
def _embedded_only(cairn_env: CairnEnv) -> None:
    if cairn_env.kind != "embedded":
        pytest.skip("embedded store only")


def _old_file(path: Path, data: bytes) -> Path:
    write(path, data)
    past = time.time() - 3600  # well clear of any racy-timestamp guard
    os.utime(path, (past, past))
    return path


@pytest.mark.parametrize("policy", ["immutable", "mutable"])
def test_memo_avoids_rereading_unchanged_files(
    cairn_env: CairnEnv, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    target = _old_file(cairn_env.work / "big.bin", b"x" * 100_000)
    reads: list[str] = []
    real_open = builtins.open

    def spying_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) == str(target):
            reads.append(str(file))
        return real_open(file, *args, **kwargs)

    real_os_open = os.open

    def spying_os_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if os.path.abspath(file) == str(target):  # small files are read with os.open
            reads.append(str(file))
        return real_os_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spying_open)
    monkeypatch.setattr(os, "open", spying_os_open)
    first = wandb.Artifact("a", type="dataset")
    first.add_file(str(target), policy=policy)  # type: ignore[arg-type]
    assert reads, "the spy must see the first read, or this test proves nothing"
    reads.clear()
    second = wandb.Artifact("b", type="dataset")
    entry = second.add_file(str(target), policy=policy)  # type: ignore[arg-type]
    monkeypatch.undo()
    assert entry.digest == b64md5(b"x" * 100_000)
    assert reads == []


def test_memo_notices_a_changed_file(cairn_env: CairnEnv) -> None:
    target = _old_file(cairn_env.work / "f.bin", b"first")
    wandb.Artifact("a", type="dataset").add_file(str(target))
    _old_file(target, b"second!")  # different size and mtime
    entry = wandb.Artifact("b", type="dataset").add_file(str(target))
    assert entry.digest == b64md5(b"second!")


def test_store_readable_by_second_process(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("shared", type="dataset", metadata={"k": "v"})
    art.add_file(str(write(cairn_env.work / "a.txt", b"from the first process")))
    logged = log(project, art, aliases=["best"])
    script = textwrap.dedent(f"""
        import json, pathlib, cairn
        art = cairn.Api().artifact("{project}/shared:best")
        root = pathlib.Path(art.download(root="second-root"))
        print(json.dumps({{"id": art.id, "meta": art.metadata,
                          "data": (root / "a.txt").read_text()}}))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=cairn_env.work,
        env=dict(os.environ),
        timeout=120,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"id": logged.id, "meta": {"k": "v"}, "data": "from the first process"}


def test_second_process_sees_new_versions(cairn_env: CairnEnv, project: str) -> None:
    art = wandb.Artifact("c", type="dataset")
    art.add_file(str(write(cairn_env.work / "a.txt", b"one")))
    log(project, art)
    script = textwrap.dedent(f"""
        import cairn
        a = cairn.Artifact("c", type="dataset")
        a.add_file("b.txt")
        with cairn.init(project="{project}") as run:
            run.log_artifact(a).wait()
        print(a.version)
    """)
    write(cairn_env.work / "b.txt", b"two")
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=cairn_env.work,
        env=dict(os.environ),
        timeout=120,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "v1"
    # this process, with its backend already open, sees the other's commit
    assert wandb.Api().artifact(f"{project}/c:latest").version == "v1"


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_small_files_are_stored_in_packs(cairn_env: CairnEnv) -> None:
    """Many small files cost the store a few pack files, not one file each, and read back."""
    files = {f"d/{i:03}.txt": f"small file {i}".encode() for i in range(200)}
    for path, data in files.items():
        write(cairn_env.work / "src" / path, data)
    big = os.urandom((1 << 20) + 1)  # at the threshold and above: one object of its own
    write(cairn_env.work / "src" / "big.bin", big)
    art = wandb.Artifact("packed", type="dataset")
    art.add_dir(str(cairn_env.work / "src"))
    log("p", art)
    blobs = cairn_env.data_dir / "blobs"
    assert len(_files_under(blobs / "packs")) == 1
    objects = {p.parent.name + p.name for p in _files_under(blobs / "objects")}
    assert hashlib.md5(big).hexdigest() in objects
    assert not any(hashlib.md5(d).hexdigest() in objects for d in files.values())
    got = wandb.Api().artifact("p/packed:v0")
    root = Path(got.download(root=str(cairn_env.work / "out")))
    assert {p: (root / p).read_bytes() for p in files} == files
    assert (root / "big.bin").read_bytes() == big
    got.verify(root=str(root))


def test_a_small_file_changed_after_add_stores_nothing_of_its_pack(cairn_env: CairnEnv) -> None:
    """Same size, other bytes: the pack is refused whole, naming the file."""
    paths = [write(cairn_env.work / "src" / f"{i}.txt", f"row {i:02}".encode()) for i in range(20)]
    art = wandb.Artifact("bad", type="dataset")
    art.add_dir(str(cairn_env.work / "src"), policy="immutable")
    paths[7].write_bytes(b"ROW 07")
    with pytest.raises(Exception, match=r"/7\.txt") as info, wandb.init(project="p") as run:
        run.log_artifact(art).wait()
    assert "changed after" in str(info.value)
    assert _files_under(cairn_env.data_dir / "blobs" / "packs") == []
    assert not wandb.Api().artifact_exists("p/bad")

"""The object cache on its own: temporary files of killed processes, a cache folder deleted
under a live process, and how downloads are placed."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cairn as wandb
from cairn.cache import ObjectCache
from cairn.cache.objects import clone_or_copy
from tests.conftest import write
from tests.sdk.helpers import log, tree


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # reaped: no process has it (reuse within this test is vanishingly rare)


def test_tmp_files_of_killed_processes_are_swept_after_the_grace(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    ObjectCache(root).memo.close()
    tmp = root / "tmp"
    old = time.time() - 7200
    stale = write(tmp / f".cairn-tmp-{dead_pid()}-aaaa", b"left by a killed download")
    os.utime(stale, (old, old))
    recent = write(tmp / f".cairn-tmp-{dead_pid()}-bbbb", b"within the grace")
    mine = write(tmp / f".cairn-tmp-{os.getpid()}-cccc", b"this process is alive")
    os.utime(mine, (old, old))
    other = write(tmp / "not-ours", b"x")
    os.utime(other, (old, old))

    ObjectCache(root).memo.close()

    assert not stale.exists()
    assert recent.exists() and mine.exists() and other.exists()


def test_cache_deleted_under_a_live_process_is_made_again(tmp_path: Path, project: str) -> None:
    src = tmp_path / "src"
    files = {"a.txt": b"alpha", "big.bin": os.urandom(2 << 20), "d/b.txt": b"beta"}
    for name, data in files.items():
        write(src / name, data)
    art = wandb.Artifact("kept", type="dataset")
    art.add_dir(str(src))
    log(project, art)
    got = wandb.Api().artifact(f"{project}/kept:v0")
    assert tree(got.download(root=str(tmp_path / "one"))) == files

    cache = Path(os.environ["CAIRN_CACHE_DIR"])
    for dirpath, _dirs, _files in os.walk(cache):
        os.chmod(dirpath, 0o755)
    shutil.rmtree(cache)  # the user clears ~/.cache/cairn while the notebook runs

    assert tree(got.download(root=str(tmp_path / "two"))) == files
    assert tree(got.download(root=str(tmp_path / "three"))) == files
    assert (cache / "objects" / "md5").is_dir()
    # Logging snapshots into the cache works again too.
    write(src / "new.txt", b"gamma")
    art2 = wandb.Artifact("kept", type="dataset")
    art2.add_dir(str(src))
    log(project, art2)
    again = wandb.Api().artifact(f"{project}/kept:v1")
    assert tree(again.download(root=str(tmp_path / "four"))) == files | {"new.txt": b"gamma"}


@pytest.mark.parametrize("size", [0, 12_000, 3 << 20])  # empty, read whole, kernel copy
def test_clone_or_copy_makes_an_independent_writable_file(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    src = write(tmp_path / "obj", data)
    src.chmod(stat.S_IRUSR)
    dest = tmp_path / "dest"
    clone_or_copy(str(src), str(dest))
    assert dest.read_bytes() == src.read_bytes()
    assert dest.stat().st_mode & stat.S_IWUSR
    assert dest.stat().st_ino != src.stat().st_ino
    with open(dest, "r+b") as f:
        f.write(b"EDITED")
    assert src.read_bytes() == data

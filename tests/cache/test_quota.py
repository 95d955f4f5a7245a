"""The cache in bounds: least-recently-used eviction under ``CAIRN_CACHE_MAX`` and ``cairn
cache cleanup``, safe with several processes.

The cross-process tests run real downloads in a second Python process, held at a chosen moment
by a pipe (it waits for a line on stdin) or killed there by a fault point — never by a sleep.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cairn as wandb
from cairn.cache import ObjectCache
from cairn.cache.quota import evict, scan, usage
from tests.conftest import write
from tests.sdk.helpers import log, tree

BLOB = 256 * 1024

# A download in another process that stops once every object is in the cache (before the first
# file is placed) and waits for a line on stdin before it goes on.
HELD_DOWNLOAD = """
import sys
import cairn
from cairn.cache import objects

real = objects.ObjectCache.materialize
held = []

def held_materialize(self, *args, **kwargs):
    if not held:
        held.append(True)
        print("placing", flush=True)
        sys.stdin.readline()
    return real(self, *args, **kwargs)

objects.ObjectCache.materialize = held_materialize
art = cairn.Api().artifact(sys.argv[1])
print(art.download(root=sys.argv[2]), flush=True)
"""

PLAIN_DOWNLOAD = """
import sys
import cairn
print(cairn.Api().artifact(sys.argv[1]).download(root=sys.argv[2]), flush=True)
"""


def make(project: str, name: str, src: Path, n: int = 3) -> dict[str, bytes]:
    files = {f"{name}-{i}.bin": os.urandom(BLOB) for i in range(n)}
    for path, data in files.items():
        write(src / name / path, data)
    art = wandb.Artifact(name, type="dataset")
    art.add_dir(str(src / name))
    log(project, art)
    return files


def digests(files: dict[str, bytes]) -> set[str]:
    return {hashlib.md5(d).hexdigest() for d in files.values()}


def python(script: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


@pytest.fixture
def reader_cache(tmp_path: Path) -> Path:
    """The cache downloads use: empty, apart from the one logging filled."""
    return tmp_path / "reader-cache"


def use_cache(monkeypatch: pytest.MonkeyPatch, root: Path) -> ObjectCache:
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(root))
    from cairn.sdk import context

    context.reset()
    return ObjectCache(root)


def test_eviction_removes_least_recently_used_first(
    tmp_path: Path, project: str, monkeypatch: pytest.MonkeyPatch, reader_cache: Path
) -> None:
    a = make(project, "a", tmp_path / "src")
    b = make(project, "b", tmp_path / "src")
    c = use_cache(monkeypatch, reader_cache)
    wandb.Api().artifact(f"{project}/a:v0").download(root=str(tmp_path / "da"))
    wandb.Api().artifact(f"{project}/b:v0").download(root=str(tmp_path / "db"))
    # Make the order plain whatever the clock's resolution: a used long ago, b just now.
    for o in scan(c):
        t = 1_000_000_000 if o.hexdigest in digests(a) else 2_000_000_000
        os.utime(o.path, ns=(t, os.stat(o.path).st_mtime_ns))
    done = evict(c, 3 * BLOB)
    assert done is not None and done.removed == 3 and done.freed == 3 * BLOB
    assert {o.hexdigest for o in scan(c)} == digests(b)
    # An evicted blob comes back on the next download.
    assert tree(wandb.Api().artifact(f"{project}/a:v0").download(root=str(tmp_path / "a2"))) == a


def test_cache_max_keeps_the_cache_in_bounds(
    tmp_path: Path, project: str, monkeypatch: pytest.MonkeyPatch, reader_cache: Path
) -> None:
    a = make(project, "a", tmp_path / "src")
    b = make(project, "b", tmp_path / "src")
    monkeypatch.setenv("CAIRN_CACHE_MAX", f"{4 * BLOB}")
    c = use_cache(monkeypatch, reader_cache)
    got_a = wandb.Api().artifact(f"{project}/a:v0").download(root=str(tmp_path / "da"))
    got_b = wandb.Api().artifact(f"{project}/b:v0").download(root=str(tmp_path / "db"))
    assert tree(got_a) == a and tree(got_b) == b  # copies do not depend on the cache
    assert usage(c).bytes <= 4 * BLOB
    assert digests(b) <= {o.hexdigest for o in scan(c)}  # the newest stay


def test_eviction_waits_for_a_download_in_another_process(
    tmp_path: Path, project: str, reader_cache: Path
) -> None:
    files = make(project, "held", tmp_path / "src")
    dest = tmp_path / "held-out"
    proc = python(
        HELD_DOWNLOAD,
        f"{project}/held:v0",
        str(dest),
        CAIRN_LINK_MODE="hardlink",
        CAIRN_CACHE_DIR=str(reader_cache),
    )
    with proc:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "placing", proc.stderr and proc.stderr.read()
        c = ObjectCache(reader_cache)
        assert digests(files) <= {o.hexdigest for o in scan(c)}
        # Automatic eviction does nothing while another process relies on the objects ...
        assert evict(c, 0, wait=False) is None
        assert digests(files) <= {o.hexdigest for o in scan(c)}
        # ... and ``cairn cache cleanup`` waits for it.
        result: list[object] = []
        waiting = threading.Thread(target=lambda: result.append(evict(c, 0, wait=True)))
        waiting.start()
        assert not result  # it cannot have run: the other process still holds its lease
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.wait(120) == 0, proc.stderr and proc.stderr.read()
        waiting.join(120)
    assert tree(dest) == files  # linked before eviction, so the links keep the bytes
    assert result and result[0] is not None and result[0].removed == len(files)  # type: ignore[attr-defined]
    assert scan(c) == []


def test_a_killed_download_blocks_no_eviction_and_its_tmp_files_are_swept(
    tmp_path: Path, project: str, reader_cache: Path
) -> None:
    make(project, "killed", tmp_path / "src")
    proc = python(
        PLAIN_DOWNLOAD,
        f"{project}/killed:v0",
        str(tmp_path / "out"),
        CAIRN_FAULT_POINT="download.fetched",  # dies holding its lease, fetched bytes in tmp/
        CAIRN_CACHE_DIR=str(reader_cache),
    )
    with proc:
        assert proc.wait(120) == 137, proc.stderr and proc.stderr.read()
    left = list((reader_cache / "tmp").iterdir())
    assert left, "the killed download left its temporary files"
    c = ObjectCache(reader_cache)  # opening sweeps only files past the grace: these stay
    assert sorted((reader_cache / "tmp").iterdir()) == sorted(left)
    for p in left:
        os.utime(p, (0, 0))  # long past the grace
    done = evict(c, 0, wait=False)  # its lease died with it
    assert done is not None and done.swept == len(left)
    assert list((reader_cache / "tmp").iterdir()) == []


def test_a_killed_eviction_blocks_no_download(
    tmp_path: Path, project: str, reader_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = make(project, "evicted", tmp_path / "src")
    use_cache(monkeypatch, reader_cache)
    wandb.Api().artifact(f"{project}/evicted:v0").download(root=str(tmp_path / "first"))
    evictor = python(
        PLAIN_DOWNLOAD.replace(
            "print(cairn.Api()",
            "from pathlib import Path\n"
            "from cairn.cache import ObjectCache\n"
            "from cairn.cache.quota import evict\n"
            "evict(ObjectCache(Path(sys.argv[2])), 0)\n"
            "#",
        ),
        "-",
        str(reader_cache),
        CAIRN_FAULT_POINT="cache.evict.locked",  # dies holding the cache alone
    )
    with evictor:
        assert evictor.wait(120) == 137, evictor.stderr and evictor.stderr.read()
    # Its lock died with it: a download goes on, finds what is there and fetches the rest.
    got = wandb.Api().artifact(f"{project}/evicted:v0").download(root=str(tmp_path / "again"))
    assert tree(got) == files


def test_staging_packs_count_and_old_ones_are_evicted_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = use_cache(monkeypatch, tmp_path / "cache")
    src = tmp_path / "src"
    for i in range(3):
        write(src / f"f{i}.txt", f"small file {i}".encode() * 50)
    art = wandb.Artifact("staged", type="dataset")
    art.add_dir(str(src))  # small files: snapshotted into a staging pack
    packs = [o for o in scan(c) if o.staging]
    assert len(packs) == 1 and packs[0].size > 0
    assert usage(c).bytes >= packs[0].size  # the quota sees the staged bytes
    # A pack written to just now may be in use: kept even when the cache must shrink to 0.
    evict(c, 0)
    assert [o.path for o in scan(c) if o.staging] == [packs[0].path]
    # An hour later it is the oldest thing in the cache, and goes whole.
    os.utime(packs[0].path, ns=(1_000_000_000, 1_000_000_000))
    done = evict(c, 0)
    assert done is not None and not os.path.exists(packs[0].path)
    assert [o for o in scan(c) if o.staging] == []

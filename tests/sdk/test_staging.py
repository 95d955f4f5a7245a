"""Staging packs: small files' mutable snapshots, shared by threads and processes (issue 14)."""

from __future__ import annotations

import builtins
import hashlib
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn as wandb
from cairn.cache.staging import STAGE_BELOW, StagingPacks
from cairn.errors import BlobNotFoundError, IntegrityError
from cairn.snapshots import StagedRange, open_snapshot, parse, read_snapshots
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import log, tree

CHILD = """
import hashlib, json, sys
from pathlib import Path
from cairn.cache.staging import StagingPacks
packs = StagingPacks(Path(sys.argv[1]))
tag = sys.argv[2].encode()
out = []
for i in range(200):
    recs = [(tag + b"-%d-%d" % (i, j)) * (1 + j) for j in range(3)]
    got = packs.append([(hashlib.md5(d).hexdigest(), d) for d in recs])
    out += [(r.locator, d.hex()) for r, d in zip(got, recs)]
packs.sync()
print(json.dumps(out))
"""


def _records(tag: str, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        data = f"{tag}:{i}:".encode() * (i % 50 + 1)
        out.append((hashlib.md5(data).hexdigest(), data))
    return out


def _read(locator: str) -> bytes:
    with open_snapshot(locator) as f:
        return f.read()


def test_threads_appending_at_once_get_their_own_bytes_back(tmp_path: Path) -> None:
    packs = StagingPacks(tmp_path / "packs")
    results: dict[str, list[tuple[StagedRange, bytes]]] = {}

    def work(tag: str) -> None:
        mine = []
        for batch in range(20):
            recs = _records(f"{tag}-{batch}", 10)
            mine += list(zip(packs.append(recs), (d for _, d in recs), strict=True))
        results[tag] = mine

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    packs.sync()
    got = [pair for tag in results for pair in results[tag]]
    assert len(got) == 6 * 20 * 10
    for r, data in got:
        assert _read(r.locator) == data
    # read back many at once, as a pack stream is built
    assert list(read_snapshots((r.locator, r.length) for r, _ in got)) == [d for _, d in got]


def test_two_processes_appending_to_one_pack(tmp_path: Path) -> None:
    folder = tmp_path / "packs"
    StagingPacks(folder).append(_records("first", 1))  # both children join this pack
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), tag], stdout=subprocess.PIPE, env=env
        )
        for tag in ("a", "b")
    ]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    locators = [loc for out in outs for loc, _ in out]
    assert len({parse(loc).pack for loc in locators}) == 1  # type: ignore[union-attr]
    spans = sorted((r.offset, r.offset + r.length) for r in map(parse, locators) if r)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # no overlap
    for out in outs:
        for loc, hexdata in out:
            assert _read(loc) == bytes.fromhex(hexdata)


def test_a_locator_never_reads_another_records_bytes(tmp_path: Path) -> None:
    packs = StagingPacks(tmp_path / "packs")
    a, b = packs.append(_records("x", 2))
    wrong = StagedRange(a.pack, b.offset, b.length, a.hexdigest)  # b's place, a's name
    with pytest.raises(IntegrityError):
        _read(wrong.locator)
    with pytest.raises(IntegrityError):
        list(read_snapshots([(wrong.locator, wrong.length)]))
    os.unlink(a.pack)
    with pytest.raises(BlobNotFoundError):
        _read(a.locator)
    # a writer whose pack was deleted under it starts another
    (c,) = packs.append(_records("y", 1))
    assert c.pack != a.pack and _read(c.locator) == _records("y", 1)[0][1]


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths opened from now on, by ``open`` or ``os.open``."""
    seen: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, str | os.PathLike):
            seen.append(os.fspath(file))  # type: ignore[arg-type]
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def spy_os_open(path: object, *args: object, **kwargs: object) -> int:
        seen.append(os.fspath(path))  # type: ignore[arg-type]
        return real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    return seen


def _dataset(root: Path) -> dict[str, bytes]:
    # Random: a server's store is shared by tests, and must not hold these blobs already.
    files = {f"f{i:02d}.txt": os.urandom(1000 + 97 * i) for i in range(30)}
    files["big.bin"] = os.urandom(STAGE_BELOW + 123)
    for rel, data in files.items():
        # Written long ago: a file changed within a tick of being read is not memoised.
        os.utime(write(root / rel, data), (1e9, 1e9))
    return files


@pytest.fixture
def data(cairn_env: CairnEnv) -> Iterator[tuple[Path, dict[str, bytes]]]:
    root = cairn_env.work / "data"
    yield root, _dataset(root)


def test_editing_a_file_after_adding_it_does_not_change_what_is_logged(
    cairn_env: CairnEnv, project: str, data: tuple[Path, dict[str, bytes]]
) -> None:
    root, files = data
    art = wandb.Artifact("d", type="dataset")
    art.add_dir(str(root))
    (root / "f00.txt").write_bytes(b"edited")
    (root / "big.bin").write_bytes(b"edited too")
    logged = log(project, art)
    assert tree(logged.download(root=str(cairn_env.work / "out"))) == files


def test_unchanged_files_added_again_are_not_read(
    cairn_env: CairnEnv,
    project: str,
    data: tuple[Path, dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, files = data
    first = wandb.Artifact("d", type="dataset")
    first.add_dir(str(root))
    log(project, first)
    opened = _opened(monkeypatch)
    again = wandb.Artifact("d", type="dataset")
    again.add_dir(str(root))
    logged = log(project, again)
    monkeypatch.undo()
    staging = str(cairn_env.cache_dir / "staging")
    assert [p for p in opened if p.startswith((str(root), staging))] == []
    assert logged.version == "v0"
    assert tree(logged.download(root=str(cairn_env.work / "out"))) == files


def test_a_removed_staging_pack_means_reading_the_file_again_or_a_clear_error(
    cairn_env: CairnEnv, project: str, data: tuple[Path, dict[str, bytes]]
) -> None:
    root, files = data
    stale = wandb.Artifact("d", type="dataset")
    stale.add_dir(str(root))
    for pack in (cairn_env.cache_dir / "staging" / "packs").iterdir():
        pack.unlink()  # the user clears the cache
    # The draft names the removed pack: logging it fails, saying what to do, storing nothing.
    with pytest.raises(BlobNotFoundError, match="add the file again"):
        log(project, stale)
    fresh = wandb.Artifact("d", type="dataset")
    fresh.add_dir(str(root))  # unchanged files, but their snapshots are gone: read again
    logged = log(project, fresh)
    assert tree(logged.download(root=str(cairn_env.work / "out"))) == files


def test_an_open_snapshot_is_a_seekable_file_of_exactly_its_bytes(tmp_path: Path) -> None:
    packs = StagingPacks(tmp_path / "packs")
    data = bytes(range(256)) * 40
    _, r, _ = packs.append(
        [*_records("before", 1), (hashlib.md5(data).hexdigest(), data), *_records("after", 1)]
    )
    plain = write(tmp_path / "plain.bin", data)
    for source in (r.locator, str(plain)):
        with open_snapshot(source) as f:
            assert f.size == len(data)
            assert f.read() == data
            f.seek(1000)
            assert f.read(24) == data[1000:1024]
            f.seek(0)
            assert f.read(10**6) == data  # never past its end, into the next record


def test_pruning_removes_old_packs_and_adding_reads_the_files_again(
    cairn_env: CairnEnv, project: str, data: tuple[Path, dict[str, bytes]]
) -> None:
    root, files = data
    wandb.Artifact("d", type="dataset").add_dir(str(root))
    folder = cairn_env.cache_dir / "staging" / "packs"
    packs = StagingPacks(folder)
    assert packs.prune(0) == 0  # too recent: kept
    for pack in folder.iterdir():
        os.utime(pack, (1e9, 1e9))
    assert packs.prune(0) > 0
    assert list(folder.iterdir()) == []
    again = wandb.Artifact("d", type="dataset")
    again.add_dir(str(root))  # the memo's locations are gone: the files are read again
    logged = log(project, again)
    assert tree(logged.download(root=str(cairn_env.work / "out"))) == files


def test_adding_files_one_by_one_does_not_sync_once_per_file(
    cairn_env: CairnEnv, data: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, files = data
    syncs: list[int] = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: (syncs.append(fd), real(fd))[1])
    art = wandb.Artifact("d", type="dataset")
    small = [name for name in files if name != "big.bin"]
    for name in small:
        art.add_file(str(root / name), name=name)
    assert len(syncs) < len(small) // 2  # batched (by bytes and time), never one per file
    # and this process still knows the snapshots it has not told the memo of yet:
    opened = _opened(monkeypatch)
    again = wandb.Artifact("d", type="dataset")
    for name in small:
        again.add_file(str(root / name), name=name)
    assert [p for p in opened if p.startswith(str(root))] == []

"""No orphans, no surprises (issue 14): what a killed writer leaves is swept, and a store folder
removed under a live process is made again.

A subprocess is killed (``CAIRN_FAULT_POINT``, :mod:`cairn.faults`) between spooling a pack in
the store's ``tmp/`` and renaming it into place: exit status 137 proves it died there. Its
spool stays behind until it is older than the grace period, then ``cairn gc``
(``reclaim_storage``) or a starting server removes it. Ages are set with ``os.utime``, never
waited for.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import IO

import pytest

from cairn import layout
from cairn.core.blobs.local import LocalBlobStore
from cairn.core.db.engine import Database
from cairn.core.gc import sweep_temporaries
from cairn.core.service import Service
from cairn.manifest import packstream

KILLED = 137
HOUR = 3600.0

# Open the store the parent made and ingest one pack stream of three small blobs.
INGEST = """
import io, sys
from pathlib import Path
from cairn.core.blobs.local import LocalBlobStore
from cairn.core.db.engine import Database
from cairn.core.service import Service
from cairn.manifest import packstream

root = Path(sys.argv[1])
blobs = [bytes([i]) * (1000 + i) for i in range(3)]
import hashlib
layout = [(hashlib.md5(b).hexdigest(), len(b)) for b in blobs]
body = packstream.encode_header(layout) + b"".join(blobs)
svc = Service(Database(f"sqlite:///{root / 'cairn.db'}"), LocalBlobStore(root / "blobs"))
svc.store_pack_stream(io.BufferedReader(io.BytesIO(body)))
print("stored")
"""


def _service(root: Path) -> Service:
    db = Database(f"sqlite:///{root / 'cairn.db'}")
    db.migrate()
    return Service(db, LocalBlobStore(root / "blobs"))


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _temporaries(store: LocalBlobStore) -> list[Path]:
    return sorted(store.tmp_dir().iterdir())


def _ingest(root: Path, point: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_FAULT_POINT"}
    if point is not None:
        env["CAIRN_FAULT_POINT"] = point
    return subprocess.run(
        [sys.executable, "-c", INGEST, str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_pack_spool_of_a_killed_writer_is_swept_by_gc_once_stale(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    store = svc.blobs
    assert isinstance(store, LocalBlobStore)
    killed = _ingest(tmp_path, "ingest.spooled")
    assert killed.returncode == KILLED, (killed.returncode, killed.stdout, killed.stderr)
    left = _temporaries(store)
    assert len(left) == 1 and layout.is_tmp_name(left[0].name)
    assert left[0].stat().st_size == 1000 + 1001 + 1002  # the whole spool, never renamed
    assert list(store.iter_packs()) == []

    young = svc.reclaim_storage(grace=timedelta(0))  # the spool is seconds old: kept
    assert young.temporaries_deleted == 0
    assert _temporaries(store) == left

    _age(left[0], 2 * HOUR)
    old = svc.reclaim_storage(grace=timedelta(0))
    assert old.temporaries_deleted == 1
    assert _temporaries(store) == []

    # The same stream again, not killed, stores its pack and leaves nothing in tmp/.
    done = _ingest(tmp_path, None)
    assert done.returncode == 0 and "stored" in done.stdout, done.stderr
    assert len(list(store.iter_packs())) == 1
    assert _temporaries(store) == []


def test_a_temporary_file_younger_than_the_grace_period_is_kept(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    young = store.new_tmp()
    young.write_bytes(b"a live writer's bytes")
    _age(young, HOUR - 60)
    stale = store.new_tmp()
    stale.write_bytes(b"a dead writer's bytes")
    _age(stale, HOUR + 60)
    mine = store.tmp_dir() / "notes.txt"  # not a name Cairn gives out: never touched
    mine.write_text("keep")
    _age(mine, 10 * HOUR)

    assert sweep_temporaries(store) == 1  # the default grace: one hour
    assert sorted(store.tmp_dir().iterdir()) == sorted([young, mine])
    assert sweep_temporaries(store, timedelta(minutes=30)) == 1
    assert sorted(store.tmp_dir().iterdir()) == [mine]


def test_a_starting_server_sweeps_its_store(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from cairn.server.app import open_state
    from cairn.server.config import ServerConfig

    store = LocalBlobStore(tmp_path / "blobs")
    stale = store.new_tmp(".pack")
    stale.write_bytes(b"spooled before a crash")
    _age(stale, 2 * HOUR)
    young = store.new_tmp(".pack")
    young.write_bytes(b"another replica, writing now")
    config = ServerConfig(
        db_url=f"sqlite:///{tmp_path / 'server.db'}",
        store_uri=(tmp_path / "blobs").as_uri(),
        create_schema=True,
    )
    state = open_state(config)
    try:
        assert not stale.exists()
        assert young.exists()
    finally:
        state.db.dispose()


def _digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_a_store_folder_removed_under_a_live_process_is_made_again(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    store = svc.blobs
    assert isinstance(store, LocalBlobStore)
    first = os.urandom(2 << 20)
    svc.store_blob_stream(_digest(first), open_bytes(first))
    shutil.rmtree(store.tmp_dir())  # someone clears tmp/ while the process runs
    second = os.urandom(2 << 20)
    assert svc.store_blob_stream(_digest(second), open_bytes(second)) == len(second)

    shutil.rmtree(store.root / layout.OBJECTS)  # and then the objects, fan-out folders too
    third = os.urandom(2 << 20)
    assert svc.store_blob_stream(_digest(third), open_bytes(third)) == len(third)
    with svc.open_blob(_digest(third)) as f:
        assert f.read() == third
    src = tmp_path / "trusted.bin"
    src.write_bytes(first)
    shutil.rmtree(store.root)  # the whole store folder
    assert store.put_file(_digest(first), str(src), trusted=True) == len(first)
    assert (store.root / layout.blob_key(_digest(first))).read_bytes() == first


def test_a_pack_is_stored_after_the_store_folder_was_removed(tmp_path: Path) -> None:
    svc = _service(tmp_path)
    store = svc.blobs
    assert isinstance(store, LocalBlobStore) and svc.packs.enabled
    blobs = [os.urandom(100 + i) for i in range(3)]
    announced = [(_digest(b), len(b)) for b in blobs]
    shutil.rmtree(store.root)  # before the first write: tmp/ and packs/ are both gone
    body = packstream.encode_header(announced) + b"".join(blobs)
    out = svc.store_pack_stream(open_bytes(body))
    assert out["new"] == 3
    for (d, _), b in zip(announced, blobs, strict=True):
        with svc.open_blob(d) as f:
            assert f.read() == b
    assert _temporaries(store) == []


def open_bytes(data: bytes) -> IO[bytes]:
    return io.BufferedReader(io.BytesIO(data))

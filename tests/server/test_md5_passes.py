"""Each uploaded byte is hashed once on the server (issue 14): the client hashed it when it was
added, the server verifies it on arrival, and nothing hashes it again (no read-back, no second
pass to store it).

``hashlib.md5`` is replaced by a counting wrapper; each hash object is attributed to the side
whose code created it (the first ``cairn.server``/``cairn.core`` or ``cairn.backend``/
``cairn.sdk``/``cairn.cache`` frame on the stack), so one process can run both sides.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cairn.backend.base import BlobUpload
from tests.server.conftest import Server

SERVER = ("cairn.server", "cairn.core")
CLIENT = ("cairn.backend", "cairn.sdk", "cairn.cache")
_real_md5 = hashlib.md5


def _side() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name.startswith(SERVER):
            return "server"
        if name.startswith(CLIENT):
            return "client"
        frame = frame.f_back  # type: ignore[assignment]
    return "other"


class Ledger:
    """Bytes hashed, by side and by the digest each hash object ended with."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_side: Counter[str] = Counter()
        self.by_digest: dict[str, Counter[str]] = {}

    def record(self, side: str, digest: str, n: int) -> None:
        with self.lock:
            self.by_side[side] += n
            self.by_digest.setdefault(digest, Counter())[side] += n


class CountingMD5:
    def __init__(self, ledger: Ledger, data: bytes = b"", **kwargs: Any) -> None:
        self._h = _real_md5(**kwargs)
        self._ledger = ledger
        self._side = _side()
        self._n = 0
        self._done = False
        if data:
            self.update(data)

    def update(self, data: Any) -> None:
        self._h.update(data)
        self._n += memoryview(data).nbytes

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._ledger.record(self._side, self._h.hexdigest(), self._n)

    def hexdigest(self) -> str:
        self._finish()
        return self._h.hexdigest()

    def digest(self) -> bytes:
        self._finish()
        return self._h.digest()

    def copy(self) -> Any:
        return self._h.copy()

    @property
    def digest_size(self) -> int:
        return 16

    @property
    def block_size(self) -> int:
        return 64

    @property
    def name(self) -> str:
        return "md5"


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Ledger:
    book = Ledger()
    monkeypatch.setattr(hashlib, "md5", lambda *a, **k: CountingMD5(book, *a, **k))
    return book


def _blobs(tmp: Path, sizes: list[int]) -> list[BlobUpload]:
    out = []
    for i, size in enumerate(sizes):
        data = os.urandom(size)
        path = tmp / f"blob{i}"
        path.write_bytes(data)
        out.append(BlobUpload(digest=_real_md5(data).hexdigest(), path=str(path), size=size))
    return out


def _assert_once_on_the_server(ledger: Ledger, blobs: list[BlobUpload]) -> None:
    for b in blobs:
        hashed = ledger.by_digest.get(b.digest, Counter())
        assert hashed["server"] == b.size, (b.size, dict(hashed))
    assert ledger.by_side["server"] == sum(b.size for b in blobs), dict(ledger.by_side)


def test_a_blob_through_the_server_is_hashed_once(
    make: Any, tmp_path: Path, ledger: Ledger
) -> None:
    # Every blob on its own (no packs): PUT /blobs/{digest} streams it to the store, hashing.
    server: Server = make(pack_threshold=0)
    blobs = _blobs(tmp_path, [10, 300_000, 3 << 20])
    alice = server.backend("alice")
    alice.upload_blobs(blobs)
    assert alice.missing_blobs([b.digest for b in blobs]) == []
    _assert_once_on_the_server(ledger, blobs)


def test_small_blobs_in_a_pack_stream_are_hashed_once(
    make: Any, tmp_path: Path, ledger: Ledger
) -> None:
    # Small blobs travel in a pack stream; a local store keeps one file per blob.
    server: Server = make(pack_threshold=4096, pack_target=64 * 1024, packs=False)
    blobs = _blobs(tmp_path, [1, 100, 4000, 2000])
    server.backend("alice").upload_blobs(blobs)
    _assert_once_on_the_server(ledger, blobs)


def test_small_blobs_stored_in_a_pack_are_hashed_once(
    make: Any, tmp_path: Path, ledger: Ledger
) -> None:
    server: Server = make(pack_threshold=4096, pack_target=64 * 1024, packs=True)
    blobs = _blobs(tmp_path, [1, 100, 4000, 2000])
    server.backend("alice").upload_blobs(blobs)
    _assert_once_on_the_server(ledger, blobs)


def test_small_blobs_in_a_pack_on_s3_are_hashed_once(
    make: Any, s3: Any, tmp_path: Path, ledger: Ledger
) -> None:
    server: Server = make(
        store_uri=f"s3://{s3.new_bucket()}/cairn",
        store_options=s3.store_options(),
        pack_threshold=4096,
        pack_target=64 * 1024,
    )
    blobs = _blobs(tmp_path, [1, 100, 4000, 2000])
    server.backend("alice").upload_blobs(blobs)
    _assert_once_on_the_server(ledger, blobs)


def test_a_presigned_single_put_is_not_hashed_on_the_server(
    make: Any, s3: Any, tmp_path: Path, ledger: Ledger
) -> None:
    # Straight to the store, which checks the signed Content-MD5: the server HEADs the object
    # and reads nothing back (the store verified every byte once).
    server: Server = make(
        store_uri=f"s3://{s3.new_bucket()}/cairn",
        store_options=s3.store_options(),
        pack_threshold=512,
    )
    blobs = _blobs(tmp_path, [1000, 2 << 20])
    alice = server.backend("alice")
    alice.upload_blobs(blobs)
    assert alice.missing_blobs([b.digest for b in blobs]) == []
    assert ledger.by_side["server"] == 0, dict(ledger.by_side)


def test_a_multipart_upload_is_hashed_once_on_the_server(
    make: Any, s3: Any, tmp_path: Path, ledger: Ledger
) -> None:
    # Above the single-PUT limit the parts' checksums do not bind the whole to its digest, so
    # the server reads the assembled object once to verify it: once, and only there.
    MiB = 1 << 20
    options = {**s3.store_options(), "part_size": 5 * MiB, "single_put_max": 5 * MiB}
    server: Server = make(
        store_uri=f"s3://{s3.new_bucket()}/cairn", store_options=options, pack_threshold=512
    )
    blobs = _blobs(tmp_path, [6 * MiB])
    server.backend("alice").upload_blobs(blobs)
    _assert_once_on_the_server(ledger, blobs)

"""The BlobStore conformance suite: every test runs against every store kind (conftest.store)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cairn.core.blobs import BlobStore
from cairn.errors import BlobNotFoundError, DigestMismatchError, IntegrityError, ValidationError

EMPTY = "d41d8cd98f00b204e9800998ecf8427e"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class OneWayStream(io.RawIOBase):
    """A stream that cannot seek, like a request body arriving over a socket."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self._src.read(min(len(buffer), 64 * 1024))
        buffer[: len(data)] = data
        return len(data)


def assert_holds(store: BlobStore, data: bytes, tmp_path: Path) -> None:
    digest = md5(data)
    assert store.has_many([digest]) == {digest}
    assert store.size(digest) == len(data)
    with store.open(digest) as f:
        assert f.read() == data
    dest = tmp_path / f"got-{digest}"
    store.get_file(digest, str(dest))
    assert dest.read_bytes() == data


def assert_absent(store: BlobStore, digest: str) -> None:
    assert store.has_many([digest]) == set()
    assert store.size(digest) is None
    assert digest not in set(store.iter_digests())


class TestBlobStore:
    def test_put_stream_round_trip(self, store: BlobStore, tmp_path: Path) -> None:
        data = b"hello, cairn\n"
        assert store.put_stream(md5(data), io.BytesIO(data)) == len(data)
        assert_holds(store, data, tmp_path)

    def test_put_stream_with_size(self, store: BlobStore, tmp_path: Path) -> None:
        data = b"sized"
        assert store.put_stream(md5(data), io.BytesIO(data), size=len(data)) == len(data)
        assert_holds(store, data, tmp_path)

    def test_put_stream_from_an_unseekable_stream(self, store: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(300_000)
        assert store.put_stream(md5(data), OneWayStream(data)) == len(data)
        assert_holds(store, data, tmp_path)

    @pytest.mark.parametrize("trusted", [False, True])
    def test_put_file(self, store: BlobStore, tmp_path: Path, trusted: bool) -> None:
        data = b"a file's bytes"
        src = tmp_path / "src.bin"
        src.write_bytes(data)
        assert store.put_file(md5(data), str(src), trusted=trusted) == len(data)
        assert_holds(store, data, tmp_path)

    def test_empty_blob(self, store: BlobStore, tmp_path: Path) -> None:
        assert store.put_stream(EMPTY, io.BytesIO(b"")) == 0
        assert_holds(store, b"", tmp_path)

    def test_a_few_mib(self, store: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(3 * 1024 * 1024 + 17)
        src = tmp_path / "big.bin"
        src.write_bytes(data)
        assert store.put_file(md5(data), str(src)) == len(data)
        assert_holds(store, data, tmp_path)

    def test_putting_twice_is_harmless(self, store: BlobStore, tmp_path: Path) -> None:
        data = b"twice"
        store.put_stream(md5(data), io.BytesIO(data))
        store.put_stream(md5(data), io.BytesIO(data))
        assert_holds(store, data, tmp_path)
        assert list(store.iter_digests()) == [md5(data)]

    def test_mismatched_stream_is_refused_and_leaves_nothing(self, store: BlobStore) -> None:
        claimed = md5(b"what was promised")
        with pytest.raises(DigestMismatchError) as info:
            store.put_stream(claimed, io.BytesIO(b"what was sent"))
        assert isinstance(info.value, IntegrityError | ValueError)
        assert claimed in str(info.value)
        assert_absent(store, claimed)

    def test_mismatched_unseekable_stream_is_refused(self, store: BlobStore) -> None:
        claimed = md5(b"promised")
        with pytest.raises(DigestMismatchError):
            store.put_stream(claimed, OneWayStream(b"sent instead"))
        assert_absent(store, claimed)

    def test_mismatched_file_is_refused_and_leaves_nothing(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        src = tmp_path / "src.bin"
        src.write_bytes(os.urandom(1024 * 1024))
        claimed = md5(b"something else")
        with pytest.raises(DigestMismatchError):
            store.put_file(claimed, str(src))
        assert_absent(store, claimed)

    def test_wrong_size_is_refused(self, store: BlobStore) -> None:
        data = b"twelve bytes"
        with pytest.raises(DigestMismatchError):
            store.put_stream(md5(data), io.BytesIO(data), size=len(data) + 1)
        assert_absent(store, md5(data))

    def test_concurrent_puts_of_the_same_blob_all_succeed(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        data = os.urandom(512 * 1024)
        digest = md5(data)
        barrier = threading.Barrier(4)

        def put() -> int:
            barrier.wait()  # all four start together
            written: int = store.put_stream(digest, io.BytesIO(data))
            return written

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(put) for _ in range(4)]
            assert [f.result() for f in futures] == [len(data)] * 4
        assert_holds(store, data, tmp_path)

    def test_missing_blob(self, store: BlobStore, tmp_path: Path) -> None:
        missing = md5(b"never stored")
        with pytest.raises(BlobNotFoundError) as info:
            store.open(missing)
        assert isinstance(info.value, LookupError)
        with pytest.raises(LookupError):
            store.get_file(missing, str(tmp_path / "dest"))
        assert store.size(missing) is None
        assert store.has_many([missing]) == set()
        store.delete(missing)  # absent blobs are ignored

    @pytest.mark.parametrize(
        "bad", ["", "xyz", "D41D8CD98F00B204E9800998ECF8427E", "1B2M2Y8AsgTpgAmY7PhCfg==", "../x"]
    )
    def test_invalid_digest_names_are_value_errors(
        self, store: BlobStore, tmp_path: Path, bad: str
    ) -> None:
        calls: list[Callable[[], object]] = [
            lambda: store.put_stream(bad, io.BytesIO(b"")),
            lambda: store.open(bad),
            lambda: store.size(bad),
            lambda: store.has_many([bad]),
            lambda: store.delete(bad),
            lambda: store.get_file(bad, str(tmp_path / "dest")),
        ]
        for call in calls:
            with pytest.raises(ValueError) as info:
                call()
            assert isinstance(info.value, ValidationError)

    def test_delete(self, store: BlobStore, tmp_path: Path) -> None:
        keep, drop = b"keep me", b"drop me"
        store.put_stream(md5(keep), io.BytesIO(keep))
        store.put_stream(md5(drop), io.BytesIO(drop))
        store.delete(md5(drop))
        assert_absent(store, md5(drop))
        assert_holds(store, keep, tmp_path)

    def test_has_many_and_iter_digests(self, store: BlobStore) -> None:
        present = [f"blob {i}".encode() for i in range(40)]
        for data in present:
            store.put_stream(md5(data), io.BytesIO(data))
        absent = [md5(f"absent {i}".encode()) for i in range(40)]
        wanted = {md5(d) for d in present}
        assert store.has_many([*wanted, *absent]) == wanted
        assert store.has_many(iter(wanted)) == wanted  # any iterable, read once
        assert store.has_many([]) == set()
        assert set(store.iter_digests()) == wanted

    def test_open_streams_in_pieces(self, store: BlobStore) -> None:
        data = os.urandom(2 * 1024 * 1024 + 5)
        store.put_stream(md5(data), io.BytesIO(data))
        got = bytearray()
        with store.open(md5(data)) as f:
            while piece := f.read(100_000):
                got += piece
        assert bytes(got) == data


class TestPacks:
    """Packs: random-named objects written once, read by range, deleted."""

    def _pack(self, tmp_path: Path, data: bytes) -> str:
        path = tmp_path / "pack.bin"
        path.write_bytes(data)
        return str(path)

    def test_put_read_ranges_delete(self, store: BlobStore, tmp_path: Path) -> None:
        data = os.urandom(70_000)
        pack_id = os.urandom(16).hex()
        store.put_pack(pack_id, self._pack(tmp_path, data), md5(data))
        assert store.read_pack(pack_id, 0, 10) == data[:10]
        assert store.read_pack(pack_id, 65_000, 5_000) == data[65_000:]
        assert store.read_pack(pack_id, 123, 0) == b""
        assert [p for p, _ in store.iter_packs()] == [pack_id]
        # Packs are not blobs: the blob listing and lookups never show them.
        assert list(store.iter_digests()) == []
        assert store.has_many([pack_id]) == set()
        store.delete_pack(pack_id)
        store.delete_pack(pack_id)  # absent: ignored
        assert list(store.iter_packs()) == []
        with pytest.raises(BlobNotFoundError):
            store.read_pack(pack_id, 0, 1)

    def test_a_pack_that_does_not_hash_to_its_md5_is_refused(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        pack_id = os.urandom(16).hex()
        with pytest.raises(DigestMismatchError):
            store.put_pack(pack_id, self._pack(tmp_path, b"these bytes"), md5(b"other bytes"))
        assert list(store.iter_packs()) == []

    def test_a_range_past_the_end_is_an_error_not_short_data(
        self, store: BlobStore, tmp_path: Path
    ) -> None:
        from cairn.errors import IntegrityError

        data = b"0123456789"
        pack_id = os.urandom(16).hex()
        store.put_pack(pack_id, self._pack(tmp_path, data), md5(data))
        with pytest.raises(IntegrityError):  # damage, not a store that cannot be reached
            store.read_pack(pack_id, 5, 10)

    @pytest.mark.parametrize("bad", ["../../etc/passwd", "ABCDEF" * 6, "a" * 31, ""])
    def test_pack_ids_are_checked(self, store: BlobStore, tmp_path: Path, bad: str) -> None:
        with pytest.raises(ValidationError):
            store.read_pack(bad, 0, 1)
        with pytest.raises(ValidationError):
            store.put_pack(bad, self._pack(tmp_path, b"x"), md5(b"x"))

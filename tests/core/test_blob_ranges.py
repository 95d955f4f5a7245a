"""Part of a blob's bytes (cairn.core.blob_ranges), as previews and media players ask for it:
from an object of its own (a local file seeks; an S3 object's stream cannot), and from a pack
(one ranged read of the pack), on every store kind."""

from __future__ import annotations

import hashlib
import io
import secrets

import pytest

from cairn.core import blob_ranges
from cairn.errors import BlobNotFoundError
from cairn.manifest.packstream import encode_header
from tests.core.conftest import Core


def _hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_a_range_of_an_object(core: Core) -> None:
    svc = core.service
    data = secrets.token_bytes(3 * (1 << 20) + 17)  # more than one chunk
    digest = _hex(data)
    svc.store_blob_stream(digest, io.BytesIO(data), len(data))
    assert blob_ranges.blob_size(svc, digest) == len(data)
    assert blob_ranges.read_range(svc, digest, 0, 10) == data[:10]
    start = (1 << 20) + 5
    end = start + (1 << 20) + 3
    assert blob_ranges.read_range(svc, digest, start, end) == data[start:end]
    # Past the end: what there is; an empty range: nothing.
    assert blob_ranges.read_range(svc, digest, len(data) - 3, len(data) + 100) == data[-3:]
    assert blob_ranges.read_range(svc, digest, 5, 5) == b""


def test_a_range_of_a_packed_blob_is_only_its_own_bytes(core: Core) -> None:
    if core.kind == "files":
        pytest.skip("this store keeps no packs")
    svc = core.service
    blobs = [secrets.token_bytes(n) for n in (300, 1000, 200)]
    header = encode_header([(_hex(b), len(b)) for b in blobs])
    svc.store_pack_stream(io.BytesIO(header + b"".join(blobs)))
    middle = _hex(blobs[1])
    assert svc.locate_blobs([middle])[middle].pack_id is not None
    assert blob_ranges.blob_size(svc, middle) == 1000
    assert blob_ranges.read_range(svc, middle, 10, 20) == blobs[1][10:20]
    # Asking past its end never reads its neighbour in the pack.
    assert blob_ranges.read_range(svc, middle, 990, 5000) == blobs[1][990:]


def test_a_stream_that_cannot_seek_is_read_up_to_the_range() -> None:
    data = secrets.token_bytes(5000)

    class NoSeek(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            chunk = self.inner.read(min(len(b), 700))  # short reads, as a socket gives
            b[: len(chunk)] = chunk
            return len(chunk)

    assert not NoSeek().seekable()
    assert b"".join(blob_ranges._from_object(NoSeek(), 1234, 4321)) == data[1234:4321]


def test_a_missing_blob(core: Core) -> None:
    with pytest.raises(BlobNotFoundError):
        blob_ranges.blob_size(core.service, _hex(b"never stored"))

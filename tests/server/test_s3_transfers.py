"""With an S3 store, bytes go between client and store by presigned URL, never through the
server; large blobs go in parts and an interrupted upload resumes without resending parts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cairn.backend.base import BlobDownload, BlobUpload
from cairn.backend.http import HttpBackend
from cairn.core.db import models as m
from cairn.errors import BlobNotFoundError, DigestMismatchError, StorageError
from tests.server.conftest import Server, log_version

MiB = 1 << 20


@pytest.fixture
def s3_server(make: Any, s3: Any) -> Server:
    bucket = s3.new_bucket()
    options = {
        **s3.store_options(),
        "multipart_threshold": 5 * MiB,
        "part_size": 5 * MiB,
        "single_put_max": 5 * MiB,  # larger blobs go up in parts, to test them small
    }
    # Blobs under 512 bytes are "small" here: they travel in pack streams (tests/server/
    # test_packs.py); everything bigger goes by presigned URL.
    return make(  # type: ignore[no-any-return]
        store_uri=f"s3://{bucket}/cairn",
        store_options=options,
        pack_threshold=512,
        pack_target=4096,
    )


def watch(backend: HttpBackend) -> list[tuple[str, str, bool]]:
    """Record every request the backend sends: (method, url, direct to the store)."""
    seen: list[tuple[str, str, bool]] = []
    send = backend._send

    def spy(method: str, url: str, **kwargs: Any) -> Any:
        seen.append((method, url, bool(kwargs.get("direct"))))
        return send(method, url, **kwargs)

    backend._send = spy  # type: ignore[method-assign]
    return seen


def test_blobs_go_straight_to_the_store(s3_server: Server, tmp_path: Path) -> None:
    alice = s3_server.backend("alice")
    seen = watch(alice)
    files = {"a.txt": b"a" * 1000, "c.txt": b"c" * 2000, "b.txt": b"b"}
    v = log_version(alice, tmp_path, "alice", "p", "c", files)
    assert v.file_count == 3
    puts = [(u, d) for meth, u, d in seen if meth == "PUT"]
    assert len(puts) == 2 and all(direct for _, direct in puts)
    assert not any(u.startswith("/blobs/") and meth == "PUT" for meth, u, _ in seen)
    # The small one went up in a pack stream, through the server, which verified it.
    assert [u for meth, u, _ in seen if u == "/blobs/packs"] == ["/blobs/packs"]
    digest = hashlib.md5(b"a" * 1000).hexdigest()
    dest = tmp_path / "dl"
    alice.fetch_blobs([BlobDownload(digest=digest, dest=str(dest), size=1000)])
    assert dest.read_bytes() == b"a" * 1000
    assert ("GET", f"/blobs/{digest}", False) not in seen
    # Bob may not read alice's private blob, by URL or otherwise.
    with pytest.raises(BlobNotFoundError):
        s3_server.backend("bob").fetch_blobs([BlobDownload(digest=digest, dest=str(dest))])


def test_an_interrupted_multipart_upload_resumes(s3_server: Server, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB + 123)  # three 5 MiB parts
    digest = hashlib.md5(data).hexdigest()
    f = tmp_path / "big.bin"
    f.write_bytes(data)
    blob = BlobUpload(digest=digest, path=str(f), size=len(data))

    first = s3_server.backend("alice", transfer_workers=1)
    sent = {"parts": 0}
    send = first._send

    def flaky(method: str, url: str, **kwargs: Any) -> Any:
        if kwargs.get("direct") and method == "PUT":
            if sent["parts"] == 2:
                raise StorageError("network went away")
            sent["parts"] += 1
        return send(method, url, **kwargs)

    first._send = flaky  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        first.upload_blobs([blob])
    assert first.missing_blobs([digest]) == [digest]
    with s3_server.state.db.read() as s:
        assert s.get(m.MultipartUpload, (digest, "alice")) is not None

    second = s3_server.backend("alice")
    seen = watch(second)
    second.upload_blobs([blob])
    direct_puts = [u for meth, u, d in seen if d and meth == "PUT"]
    assert len(direct_puts) == 1  # only the part that never arrived
    assert second.missing_blobs([digest]) == []
    with s3_server.state.db.read() as s:
        assert s.get(m.MultipartUpload, (digest, "alice")) is None
        assert s.get_one(m.Blob, digest).size == len(data)
    out = tmp_path / "back.bin"
    log_version(second, tmp_path, "alice", "p", "big", {"big.bin": data})
    second.fetch_blobs([BlobDownload(digest=digest, dest=str(out), size=len(data))])
    assert hashlib.md5(out.read_bytes()).hexdigest() == digest


def test_a_multipart_upload_of_the_wrong_bytes_is_refused(
    s3_server: Server, tmp_path: Path
) -> None:
    claimed = hashlib.md5(b"\x00" * (6 * MiB)).hexdigest()
    f = tmp_path / "other.bin"
    f.write_bytes(b"\x01" * (6 * MiB))
    alice = s3_server.backend("alice")
    with pytest.raises(DigestMismatchError):
        alice.upload_blobs([BlobUpload(digest=claimed, path=str(f), size=6 * MiB)])
    assert alice.missing_blobs([claimed]) == [claimed]
    assert not s3_server.state.store.has_many([claimed])
    with s3_server.state.db.read() as s:
        assert s.scalars(select(m.MultipartUpload)).all() == []


def test_a_single_put_of_the_wrong_bytes_is_refused(s3_server: Server, tmp_path: Path) -> None:
    claimed = hashlib.md5(b"right").hexdigest()
    f = tmp_path / "f"
    f.write_bytes(b"wrong")
    alice = s3_server.backend("alice")
    with pytest.raises(DigestMismatchError, match="hash"):
        alice.upload_blobs([BlobUpload(digest=claimed, path=str(f), size=5)])
    assert alice.missing_blobs([claimed]) == [claimed]
    r = s3_server.client("alice").post(
        "/api/v1/blobs/confirm", json={"blobs": [{"digest": claimed, "size": 5}]}
    )
    assert r.status_code == 404  # never stored, so it cannot be admitted

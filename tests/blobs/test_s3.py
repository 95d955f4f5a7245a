"""What only the S3 store does: its URI options, multipart uploads, presigned direct transfers,
resumable uploads, listing in has_many, and error translation. Against a real SeaweedFS."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cairn.core.blobs import open_store
from cairn.core.blobs.s3 import PresignedRequest, S3BlobStore
from cairn.core.blobs.s3 import objects as s3mod
from cairn.errors import (
    BlobNotFoundError,
    DigestMismatchError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from tests.seaweed import S3Server

KiB = 1024
MiB = 1024 * KiB
# As small as S3 allows (SeaweedFS enforces the 5 MiB minimum part size, as AWS does).
PART = 5 * MiB
SMALL_MULTIPART = {"multipart_threshold": PART, "part_size": PART}

MakeStore = Callable[..., S3BlobStore]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def send(req: PresignedRequest, body: bytes | None = None, **headers: str) -> tuple[int, bytes]:
    """Send a presigned request with urllib, as a client with no AWS SDK would."""
    all_headers = {**req.headers, **headers}
    for name in [k for k, v in all_headers.items() if v == ""]:
        del all_headers[name]  # "" means: leave this header out
    request = urllib.request.Request(req.url, data=body, method=req.method, headers=all_headers)
    # Loopback only: never through a proxy named in the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def staged_and_pending(seaweed: S3Server, store: S3BlobStore) -> tuple[list[str], list[str]]:
    """Keys under the store's uploads/ area, and keys with multipart uploads in progress."""
    client = seaweed.client()
    listed = client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}/uploads/")
    uploads = client.list_multipart_uploads(Bucket=store.bucket, Prefix=f"{store.prefix}/")
    return (
        [o["Key"] for o in listed.get("Contents", [])],
        [u["Key"] for u in uploads.get("Uploads", [])],
    )


# -- opening -------------------------------------------------------------------------------------


def test_open_store_through_the_registry(seaweed: S3Server, s3_bucket: str) -> None:
    store = open_store(f"s3://{s3_bucket}/reg/istry", **seaweed.store_options())
    assert isinstance(store, S3BlobStore)
    assert store.uri == f"s3://{s3_bucket}/reg/istry"
    data = b"through the registry"
    store.put_stream(md5(data), io.BytesIO(data))
    key = f"reg/istry/objects/md5/{md5(data)[:2]}/{md5(data)[2:]}"
    head = seaweed.client().head_object(Bucket=s3_bucket, Key=key)
    assert head["ContentLength"] == len(data)


def test_endpoint_from_the_environment(
    seaweed: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_S3_ENDPOINT_URL", seaweed.endpoint_url)
    options = seaweed.store_options()
    del options["endpoint_url"]
    store = open_store(f"s3://{s3_bucket}/env", **options)
    assert store.has_many([md5(b"x")]) == set()


@pytest.mark.parametrize(
    ("uri", "options"),
    [
        ("s3:///no-bucket", {}),
        ("file:///not/s3", {}),
        ("s3://bucket/p", {"access_key": "only-half"}),
        ("s3://bucket/p", {"multipart_treshold": 1}),
    ],
)
def test_bad_uris_and_options(uri: str, options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        S3BlobStore.from_uri(uri, endpoint_url="http://127.0.0.1:9", **options)


def test_secrets_stay_out_of_reprs() -> None:
    store = S3BlobStore.from_uri(
        "s3://bucket", endpoint_url="http://127.0.0.1:9", access_key="AK", secret_key="TOPSECRET"
    )
    assert "TOPSECRET" not in repr(store.options)


# -- multipart put -------------------------------------------------------------------------------


def test_large_put_file_goes_up_in_parts(
    make_s3_store: MakeStore, seaweed: S3Server, tmp_path: Path
) -> None:
    store = make_s3_store(**SMALL_MULTIPART)
    data = os.urandom(2 * PART + 3)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    assert store.put_file(md5(data), str(src)) == len(data)
    head = seaweed.client().head_object(Bucket=store.bucket, Key=store.key_for(md5(data)))
    assert head["ETag"].strip('"').endswith("-3")  # a multipart ETag: 3 parts
    assert store.verify(md5(data)) == len(data)
    dest = tmp_path / "back.bin"
    store.get_file(md5(data), str(dest))
    assert dest.read_bytes() == data
    # Already there: a second put only asks.
    assert store.put_file(md5(data), str(src)) == len(data)


def test_large_unseekable_stream_goes_up_in_parts(make_s3_store: MakeStore) -> None:
    store = make_s3_store(**SMALL_MULTIPART)
    data = os.urandom(PART + 1000)
    assert store.put_stream(md5(data), _OneWay(data)) == len(data)
    assert store.verify(md5(data)) == len(data)


def test_mismatched_multipart_put_is_aborted(
    make_s3_store: MakeStore, seaweed: S3Server, tmp_path: Path
) -> None:
    store = make_s3_store(**SMALL_MULTIPART)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(PART + 1000))
    claimed = md5(b"not these bytes")
    with pytest.raises(DigestMismatchError) as info:
        store.put_file(claimed, str(src))
    assert info.value.details["actual"] == md5(src.read_bytes())
    assert store.has_many([claimed]) == set()
    assert store.size(claimed) is None
    assert staged_and_pending(seaweed, store) == ([], [])


# -- presigned single PUT and GET --------------------------------------------------------------


def test_presigned_put_accepts_the_right_bytes(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    data = b"straight to the store"
    req = store.presign_put(md5(data), len(data), expires=600)
    assert req.method == "PUT"
    assert req.headers["Content-MD5"] == md5_b64(data)
    status, _ = send(req, data)
    assert status == 200
    assert store.has_many([md5(data)]) == {md5(data)}
    assert store.verify(md5(data)) == len(data)


def test_presigned_put_refuses_other_bytes(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    data = b"the promised bytes"
    req = store.presign_put(md5(data), len(data))
    wrong = b"X" * len(data)
    status, body = send(req, wrong)
    assert status == 400 and b"BadDigest" in body  # the server checked Content-MD5
    # Leaving out the header (or sending another) breaks the signature instead.
    status, _ = send(req, wrong, **{"Content-MD5": ""})
    assert status == 403
    status, _ = send(req, wrong, **{"Content-MD5": md5_b64(wrong)})
    assert status == 403
    assert store.has_many([md5(data)]) == set()


def test_presigned_put_goes_to_the_blobs_key_and_names_its_uploader(
    make_s3_store: MakeStore,
) -> None:
    store = make_s3_store()
    data = b"whose bytes are these"
    assert store.stat_blob(md5(data)) is None
    req = store.presign_put(md5(data), len(data), uploader="abc123")
    # A body under the right MD5 but without the signed uploader header is refused (the
    # signature covers it), so the tag on the object is the one the server handed out.
    status, _ = send(req, data, **{"x-amz-meta-cairn-uploader": "mallory"})
    assert status == 403
    assert store.stat_blob(md5(data)) is None
    status, _ = send(req, b"X" * len(data))
    assert status == 400  # wrong bytes: BadDigest, at the final key too
    assert store.stat_blob(md5(data)) is None
    status, _ = send(req, data)
    assert status == 200
    found = store.stat_blob(md5(data))
    assert found is not None
    assert (found.size, found.etag_is_md5, found.uploader) == (len(data), True, "abc123")
    # Nothing was staged: the object is the blob itself.
    assert store.verify(md5(data)) == len(data)
    with pytest.raises(ValidationError):
        store.presign_put(md5(data), store.single_put_max + 1)


def test_a_pack_sent_without_a_whole_md5(make_s3_store: MakeStore, tmp_path: Path) -> None:
    store = make_s3_store()
    data = os.urandom(3000)
    f = tmp_path / "pack"
    f.write_bytes(data)
    store.put_pack("ab" * 16, str(f), "")
    assert store.read_pack("ab" * 16, 100, 50) == data[100:150]
    store.put_pack("cd" * 16, str(f), md5(data))
    assert store.read_pack("cd" * 16, 0, 3000) == data
    with pytest.raises(DigestMismatchError):
        store.put_pack("ef" * 16, str(f), md5(b"other"))


def test_presigned_get(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    data = os.urandom(200 * KiB)
    store.put_stream(md5(data), io.BytesIO(data))
    status, body = send(store.presign_get(md5(data)))
    assert (status, body) == (200, data)
    status, _ = send(store.presign_get(md5(b"absent")))
    assert status == 404


def test_presigned_pack_range_opens_only_that_range(
    make_s3_store: MakeStore, tmp_path: Path
) -> None:
    """A pack holds other uploads' blobs: its URL must give exactly the range it was made for."""
    store = make_s3_store()
    data = os.urandom(64 * KiB)
    src = tmp_path / "pack"
    src.write_bytes(data)
    pack_id = os.urandom(16).hex()
    store.put_pack(pack_id, str(src), md5(data))
    req = store.presign_pack_range(pack_id, 4096, 8192)
    status, body = send(req)
    assert (status, body) == (206, data[4096 : 4096 + 8192])
    assert send(req, Range="bytes=0-65535")[0] == 403  # a wider range: refused
    assert send(req, Range="")[0] == 403  # the whole object: refused
    with pytest.raises(ValidationError):
        store.presign_pack_range(pack_id, 0, 0)


# -- resumable (presigned multipart) uploads ---------------------------------------------------


def _parts(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_resumable_upload(make_s3_store: MakeStore, seaweed: S3Server) -> None:
    store = make_s3_store()
    data = os.urandom(2 * PART + 100 * KiB)
    digest = md5(data)
    chunks = _parts(data, PART)  # 3 parts, the last short
    upload_id = store.create_multipart(digest)

    # A first session sends two parts (not in order), then is interrupted.
    for number in (3, 1):
        chunk = chunks[number - 1]
        req = store.presign_part(digest, upload_id, number, md5_b64(chunk), size=len(chunk))
        assert send(req, chunk)[0] == 200
    done = store.list_parts(digest, upload_id)
    assert [(p.part_number, p.size) for p in done] == [(1, PART), (3, 100 * KiB)]
    assert store.has_many([digest]) == set()  # nothing visible before completion

    # The resumed session asks what is done and sends the rest.
    have = {p.part_number for p in store.list_parts(digest, upload_id)}
    for number, chunk in enumerate(chunks, start=1):
        if number not in have:
            req = store.presign_part(digest, upload_id, number, md5_b64(chunk))
            assert send(req, chunk)[0] == 200
    assert store.complete_multipart(digest, upload_id) == len(data)

    assert store.has_many([digest]) == {digest}
    assert store.verify(digest) == len(data)
    with store.open(digest) as f:
        assert f.read() == data
    assert staged_and_pending(seaweed, store) == ([], [])
    with pytest.raises(NotFoundError):
        store.list_parts(digest, upload_id)


def test_presigned_part_refuses_bytes_other_than_signed(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    data = os.urandom(10 * KiB)
    upload_id = store.create_multipart(md5(data))
    req = store.presign_part(md5(data), upload_id, 1, md5_b64(data))
    status, body = send(req, b"Y" * len(data))
    assert status == 400 and b"BadDigest" in body
    assert store.list_parts(md5(data), upload_id) == []
    store.abort_multipart(md5(data), upload_id)


def test_completing_other_bytes_is_refused(make_s3_store: MakeStore, seaweed: S3Server) -> None:
    store = make_s3_store()
    claimed = md5(b"the blob the client promised")
    upload_id = store.create_multipart(claimed)
    wrong = os.urandom(150 * KiB)
    for number, chunk in enumerate(_parts(wrong, PART), start=1):
        assert send(store.presign_part(claimed, upload_id, number, md5_b64(chunk)), chunk)[0] == 200
    with pytest.raises(DigestMismatchError):
        store.complete_multipart(claimed, upload_id)
    assert store.has_many([claimed]) == set()
    assert staged_and_pending(seaweed, store) == ([], [])


def test_abort_multipart(make_s3_store: MakeStore, seaweed: S3Server) -> None:
    store = make_s3_store()
    data = os.urandom(120 * KiB)
    upload_id = store.create_multipart(md5(data))
    send(store.presign_part(md5(data), upload_id, 1, md5_b64(data)), data)
    store.abort_multipart(md5(data), upload_id)
    store.abort_multipart(md5(data), upload_id)  # already gone: ignored
    with pytest.raises(NotFoundError):
        store.list_parts(md5(data), upload_id)
    assert staged_and_pending(seaweed, store) == ([], [])


def test_multipart_arguments_are_checked(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    digest = md5(b"x")
    upload_id = store.create_multipart(digest)
    with pytest.raises(ValidationError):
        store.presign_part(digest, upload_id, 1, "not base64 md5")
    with pytest.raises(ValidationError):
        store.presign_part(digest, upload_id, 0, md5_b64(b"x"))
    with pytest.raises(ValidationError):
        store.list_parts(digest, "not-an-upload-id")
    with pytest.raises(ValidationError):
        store.complete_multipart(digest, upload_id, parts=[])
    store.abort_multipart(digest, upload_id)


# -- has_many by listing -----------------------------------------------------------------------


def test_has_many_lists_dense_shards(
    make_s3_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_s3_store()
    blobs = [f"blob {i}".encode() for i in range(60)]
    for data in blobs:
        store.put_stream(md5(data), io.BytesIO(data))
    present = {md5(d) for d in blobs}
    absent = {md5(f"absent {i}".encode()) for i in range(60)}

    heads: list[str] = []
    real_size = store.size

    def counting_size(digest: str) -> int | None:
        heads.append(digest)
        size: int | None = real_size(digest)
        return size

    monkeypatch.setattr(store, "size", counting_size)
    # Every shard asked about is "dense", and pages hold 3 keys: most answers come from
    # listings, and a shard whose listing runs out of page budget falls back to HEADs.
    monkeypatch.setattr(s3mod, "LIST_MIN_PER_SHARD", 1)
    monkeypatch.setattr(s3mod, "LIST_PAGE_SIZE", 3)
    monkeypatch.setattr(s3mod, "HEADS_PER_LIST_PAGE", 2)
    assert store.has_many(present | absent) == present
    assert len(heads) < len(present | absent)


# -- errors --------------------------------------------------------------------------------------


def test_missing_bucket_is_a_storage_error(seaweed: S3Server) -> None:
    store = open_store("s3://no-such-bucket-cairn/p", **seaweed.store_options())
    with pytest.raises(StorageError) as info:
        store.put_stream(md5(b"x"), io.BytesIO(b"x"))
    assert "NoSuchBucket" in str(info.value)
    with pytest.raises(StorageError):
        list(store.iter_digests())


def test_bad_credentials_are_a_storage_error_without_the_secret(
    seaweed: S3Server, s3_bucket: str
) -> None:
    options = {**seaweed.store_options(), "secret_key": "WRONG-SECRET-123"}
    store = open_store(f"s3://{s3_bucket}/p", **options)
    with pytest.raises(StorageError) as info:
        store.put_stream(md5(b"x"), io.BytesIO(b"x"))
    assert isinstance(info.value, OSError)
    assert "WRONG-SECRET-123" not in str(info.value)
    assert seaweed.secret_key not in str(info.value)


def test_unreachable_endpoint_is_a_storage_error() -> None:
    store = S3BlobStore.from_uri(
        "s3://bucket/p",
        endpoint_url="http://127.0.0.1:9",  # discard port: nothing listens
        access_key="AK",
        secret_key="SK",
        max_attempts=1,
        connect_timeout=1.0,
    )
    with pytest.raises(StorageError):
        store.size(md5(b"x"))
    with pytest.raises(StorageError):
        store.open(md5(b"x"))


def test_missing_blob_errors(make_s3_store: MakeStore) -> None:
    store = make_s3_store()
    with pytest.raises(BlobNotFoundError):
        store.verify(md5(b"absent"))


class _OneWay(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._src.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

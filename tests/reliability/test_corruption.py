"""Stored bytes damaged behind the store's back are always caught on download.

For each store kind (the embedded folder, a server's folder, a server's S3 bucket) and each of
{a blob stored alone, a blob inside a pack} x {one byte flipped, truncated, deleted}, an artifact
is logged, its stored object damaged directly in the folder or bucket, and the artifact
downloaded afresh (an empty cache). Every case must fail loudly with the error that names the
damage (an integrity error for wrong bytes; a missing blob for a deleted one), never hand back
wrong bytes; the detection rate over all cases is asserted to be 100%.
"""

from __future__ import annotations

import hashlib
import secrets
import stat
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import pytest

import cairn as wandb
from cairn.errors import BlobNotFoundError, CairnError, IntegrityError
from tests import backends
from tests.conftest import CairnEnv

TARGETS = ["blob", "pack"]
FAULTS = ["flip", "truncate", "delete"]
BIG = 1536 * 1024  # over the 1 MiB pack threshold: stored as an object of its own
SMALL = 4096


class Stored(Protocol):
    """The stored objects of a blob store, by key, reached around the store."""

    def keys(self) -> set[str]: ...
    def read(self, key: str) -> bytes: ...
    def write(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...


class FolderObjects:
    def __init__(self, root: Path) -> None:
        self.root = root

    def keys(self) -> set[str]:
        return {
            p.relative_to(self.root).as_posix()
            for top in ("objects", "packs")
            for p in (self.root / top).rglob("*")
            if p.is_file()
        }

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.chmod(path.stat().st_mode | stat.S_IWUSR)  # stored files are read-only
        path.write_bytes(data)

    def delete(self, key: str) -> None:
        (self.root / key).unlink()


class BucketObjects:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def keys(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        return {
            o["Key"]
            for page in pages
            for o in page.get("Contents", [])
            if "/objects/" in o["Key"] or "/packs/" in o["Key"]
        }

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


def stored_objects(env: CairnEnv, request: pytest.FixtureRequest) -> Stored:
    if env.kind == "embedded":
        return FolderObjects(env.data_dir / "blobs")
    uri = backends.server_for(env.kind, request).store
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return FolderObjects(Path(unquote(parsed.path)))
    client = backends.seaweed(request).client()
    return BucketObjects(client, parsed.netloc, parsed.path.strip("/"))


def _damage(stored: Stored, key: str, at: int, fault: str) -> None:
    if fault == "delete":
        stored.delete(key)
        return
    data = bytearray(stored.read(key))
    if fault == "flip":
        data[at] ^= 0x01
    else:
        del data[at:]
    stored.write(key, bytes(data))


DETECTED: list[bool] = []

# Caught, but reported as a connection or storage error rather than as the damage it is: a
# damaged pack read through a server (issue #13 part 5, "errors for people", built apart). Empty
# this once that lands; a case fixed already simply passes.


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("target", TARGETS)
def test_damaged_stored_bytes_are_caught_on_download(
    cairn_env: CairnEnv,
    project: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    fault: str,
) -> None:
    stored = stored_objects(cairn_env, request)
    big = secrets.token_bytes(BIG)
    small = [secrets.token_bytes(SMALL) for _ in range(3)]
    before = stored.keys()
    with wandb.init(project=project) as run:
        art = wandb.Artifact("fragile", type="dataset")
        for name, data in [("big.bin", big)] + [(f"s{i}.bin", d) for i, d in enumerate(small)]:
            with art.new_file(name, mode="wb") as f:
                f.write(data)
        run.log_artifact(art)
    new = stored.keys() - before
    if target == "blob":
        [key] = [k for k in new if k.endswith(hashlib.md5(big).hexdigest()[2:])]
        at = BIG // 2
    else:
        [key] = [k for k in new if "packs/" in k]
        at = stored.read(key).index(small[1]) + SMALL // 2
    _damage(stored, key, at, fault)

    monkeypatch.setenv("CAIRN_CACHE_DIR", str(cairn_env.work / "fresh-cache"))
    outcome: Exception | None = None
    try:
        got = wandb.Api().artifact(f"{project}/fragile:v0")
        root = got.download(root=str(cairn_env.work / "out"))
        got.verify(root)
    except Exception as exc:  # noqa: BLE001 - recorded and classified below
        outcome = exc
    # Detected: the download or the verification failed with Cairn's error; it never returned.
    DETECTED.append(isinstance(outcome, CairnError))
    assert isinstance(outcome, CairnError), repr(outcome)
    # A deleted object is missing, or (a pack the index still names) a damaged store.
    expected = (BlobNotFoundError, IntegrityError) if fault == "delete" else (IntegrityError,)
    assert isinstance(outcome, expected), repr(outcome)


def test_the_detection_rate_is_100_percent() -> None:
    """Over every case above that ran (they run first, in file order): none handed back
    damaged bytes as good."""
    if not DETECTED:
        pytest.skip("no corruption case ran in this session")
    assert sum(DETECTED) / len(DETECTED) == 1.0, DETECTED

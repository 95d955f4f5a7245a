"""Making and reading versions straight through the core service, as a server would."""

from __future__ import annotations

import hashlib
import io
import random

from cairn.core.service import Service
from cairn.manifest import Manifest, ManifestEntry, md5_b64
from cairn.manifest.digest import b64_to_hex
from cairn.manifest.packstream import encode_header
from cairn.records import VersionRecord, VersionSpec


def data(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def hexmd5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def pack_stream(blobs: list[bytes]) -> bytes:
    return encode_header([(hexmd5(b), len(b)) for b in blobs]) + b"".join(blobs)


def send_pack(service: Service, blobs: list[bytes]) -> dict[str, object]:
    return service.store_pack_stream(io.BytesIO(pack_stream(blobs)))


def upload(service: Service, blobs: list[bytes]) -> None:
    """Send what the store lacks: small blobs in one pack stream, large ones one by one."""
    by_digest = {hexmd5(b): b for b in blobs}
    missing = [by_digest[d] for d in service.missing_blobs(list(by_digest))]
    small = [b for b in missing if len(b) < service.packs.threshold]
    if small:
        send_pack(service, small)
    for b in missing:
        if len(b) >= service.packs.threshold:
            service.store_blob_stream(hexmd5(b), io.BytesIO(b), len(b))


def log(
    service: Service, entity: str, name: str, files: dict[str, bytes], project: str = "p"
) -> VersionRecord:
    """Begin, upload and commit a version holding ``files``."""
    vid = service.begin_version(VersionSpec(entity, project, name, "dataset"))
    upload(service, list(files.values()))
    manifest = Manifest(
        ManifestEntry(path=p, digest=md5_b64(b), size=len(b)) for p, b in files.items()
    )
    return service.commit_version(vid, manifest)


def read_version(service: Service, version_id: str) -> dict[str, bytes]:
    """Every file of a committed version, read through the store."""
    _, raw = service.get_manifest(version_id)
    out = {}
    for e in Manifest.from_bytes(raw):
        with service.open_blob(b64_to_hex(e.digest)) as f:
            out[e.path] = f.read()
    return out

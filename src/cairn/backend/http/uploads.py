"""Uploads of the blobs a server lacks, the way it says each travels
(:mod:`cairn.core.transfer.plan`): small ones many to a pack stream, large ones by one
presigned PUT straight to the store or, above the store's single-PUT limit, in resumable
parts; through the server (``PUT /blobs/{digest}``) where the store cannot presign."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator, Sequence
from typing import IO, Any

from cairn.backend import packing
from cairn.backend.base import BlobUpload, Progress
from cairn.backend.http.sending import CHUNK, Sender, run_all
from cairn.errors import BlobNotFoundError, DigestMismatchError, NotFoundError, StorageError
from cairn.manifest.packstream import MEDIA_TYPE as PACK_TYPE
from cairn.snapshots import open_snapshot, snapshot_size
from cairn.wire import PackLimits

PACKS_IN_FLIGHT = 4
# Debug records say which blobs were packed or sent and how (`logging.getLogger("cairn")`).
log = logging.getLogger(__name__)


def _file_range(path: str, offset: int, length: int) -> Iterator[bytes]:
    with open_snapshot(path) as f:
        f.seek(offset)
        left = length
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise StorageError(f"{path} shrank while it was being uploaded")
            left -= len(chunk)
            yield chunk


def _check_size(b: BlobUpload, size: int) -> None:
    """A file whose size changed since it was hashed cannot hash to its digest any more."""
    if size != b.size:
        raise DigestMismatchError(
            f"{b.path} is {size} bytes now, {b.size} when it was added, so its bytes no longer "
            f"hash to {b.digest}; add it again",
            details={"expected": b.digest, "path": b.path},
        )


def _md5_b64(path: str, offset: int, length: int) -> str:
    h = hashlib.md5()
    for chunk in _file_range(path, offset, length):
        h.update(chunk)
    return base64.b64encode(h.digest()).decode()


class _Reading:
    """A file's bytes as an iterator of chunks, reporting progress (httpx streams it)."""

    def __init__(self, f: IO[bytes], progress: Progress | None) -> None:
        self._f = f
        self._progress = progress

    def __iter__(self) -> Iterator[bytes]:
        self._f.seek(0)  # from the start again if an attempt is retried
        while chunk := self._f.read(CHUNK):
            if self._progress is not None:
                self._progress(len(chunk))
            yield chunk


def _counting(chunks: Iterator[bytes], progress: Progress | None) -> Iterator[bytes]:
    for chunk in chunks:
        if progress is not None:
            progress(len(chunk))
        yield chunk


def missing_blobs(self: Sender, digests: Sequence[str]) -> list[str]:
    """Which of ``digests`` the server lacks for this caller, asked in batches it takes."""
    out: list[str] = []
    for batch in _batches(list(dict.fromkeys(digests)), self.batch()):
        body = {"digests": list(batch)}
        out.extend(self._json("POST", "/blobs/missing", json=body, idempotent=True)["missing"])
    return out


def upload_blobs(
    self: Sender, blobs: Sequence[BlobUpload], progress: Progress | None = None
) -> None:
    if not blobs:
        return
    packs = self._packs()
    if packs is not None:
        small = [b for b in blobs if b.size < packs.threshold]
        if small:
            _upload_packs(self, small, packs, progress)
        blobs = [b for b in blobs if b.size >= packs.threshold]
        if not blobs:
            return
    if self._presigned():
        _upload_direct(self, blobs, progress)
        return

    def put(b: BlobUpload) -> None:
        with open_snapshot(b.path) as f:
            size = f.size
            log.debug("sending blob %s (%d bytes) through the server", b.digest, size)
            self._send(
                "PUT",
                f"/blobs/{b.digest}",
                content=lambda: _Reading(f, progress),
                headers={
                    "Content-Length": str(size),
                    "Content-Type": "application/octet-stream",
                },
            )

    run_all(put, blobs, self.workers)


def _upload_packs(
    self: Sender, blobs: Sequence[BlobUpload], packs: PackLimits, progress: Progress | None
) -> None:
    """Send small blobs as pack streams of about ``packs.target`` bytes, in parallel."""
    groups = packing.group(blobs, lambda b: b.size, target=packs.target, max_items=packs.max_blobs)

    def send(group: list[BlobUpload]) -> None:
        chunks, length = packing.pack_body(group)
        log.debug("sending %d small blobs (%d bytes) as one pack stream", len(group), length)
        try:
            self._send(
                "POST",
                "/blobs/packs",
                idempotent=True,  # content-addressed: the same blobs again store nothing
                content=lambda: iter(chunks),
                headers={"Content-Length": str(length), "Content-Type": PACK_TYPE},
            )
        except DigestMismatchError as exc:
            raise packing.name_changed_files(exc, group) from None
        if progress is not None:
            progress(length)

    # Each pack is held in memory while it is sent: a few at a time keep that bounded.
    run_all(send, groups, min(self.workers, PACKS_IN_FLIGHT))


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _plan(self: Sender, blobs: Sequence[BlobUpload]) -> list[dict[str, Any]]:
    """The server's plan for ``blobs`` (those it lacks), asked in batches it takes."""
    plan: list[dict[str, Any]] = []
    for batch in _batches(blobs, self.batch()):
        body = {"blobs": [{"digest": b.digest, "size": b.size} for b in batch]}
        plan.extend(self._json("POST", "/blobs/uploads", json=body, idempotent=True)["uploads"])
    return plan


def _upload_direct(self: Sender, blobs: Sequence[BlobUpload], progress: Progress | None) -> None:
    by_digest = {b.digest: b for b in blobs}
    plan = _plan(self, list(by_digest.values()))
    singles = [p for p in plan if "put" in p]
    multis = [p for p in plan if "multipart" in p]
    if log.isEnabledFor(logging.DEBUG):
        for p in plan:
            how = "a presigned PUT" if "put" in p else "a multipart upload"
            log.debug(
                "sending blob %s (%d bytes) by %s", p["digest"], by_digest[p["digest"]].size, how
            )

    def put(p: dict[str, Any]) -> None:
        b = by_digest[p["digest"]]
        req = p["put"]
        with open_snapshot(b.path) as f:
            _check_size(b, f.size)
            self._send(
                req["method"],
                req["url"],
                direct=True,
                content=lambda: _Reading(f, progress),
                headers=dict(req["headers"]),
            )

    def multipart(p: dict[str, Any]) -> None:
        b = by_digest[p["digest"]]
        try:
            _upload_multipart(self, b, p["multipart"], progress)
        except NotFoundError:
            # The upload is gone: a completion cut off half-way (its server killed) used it
            # up without recording the blob, or it expired. The bytes are content-addressed,
            # so sending them again under a new upload is safe; if the blob was recorded
            # after all, the new plan is empty.
            for q in _plan(self, [b]):
                _upload_multipart(self, b, q["multipart"], progress)

    # Large blobs first: each runs its own parts in parallel.
    for p in multis:
        multipart(p)
    run_all(put, singles, self.workers)
    try:
        _confirm(self, [by_digest[p["digest"]] for p in singles])
    except BlobNotFoundError as exc:
        # Another account's PUT of the same bytes landed between ours and the confirmation,
        # so the object no longer says we put it there: send ours once more.
        again = [by_digest[d] for d in exc.details.get("missing", []) if d in by_digest]
        if not again:
            raise
        retry = [p for p in _plan(self, again) if "put" in p]
        run_all(put, retry, self.workers)
        _confirm(self, [by_digest[p["digest"]] for p in retry])


def _confirm(self: Sender, blobs: Sequence[BlobUpload]) -> None:
    for batch in _batches(blobs, self.batch()):
        body = {"blobs": [{"digest": b.digest, "size": b.size} for b in batch]}
        self._send("POST", "/blobs/confirm", json=body, idempotent=True)


def _upload_multipart(
    self: Sender, b: BlobUpload, upload: dict[str, Any], progress: Progress | None
) -> None:
    """Send the parts the store lacks (an interrupted upload resumes), then complete."""
    upload_id, part_size = str(upload["upload_id"]), int(upload["part_size"])
    size = snapshot_size(b.path)
    _check_size(b, size)
    count = max(1, -(-size // part_size))
    done = {int(d["number"]): int(d["size"]) for d in upload.get("done", [])}
    todo: list[tuple[int, int, int]] = []
    for n in range(1, count + 1):
        offset = (n - 1) * part_size
        length = min(part_size, size - offset)
        if done.get(n) == length:
            if progress is not None:
                progress(length)
            continue
        todo.append((n, offset, length))

    def send_part(part: tuple[int, int, int]) -> None:
        n, offset, length = part
        md5 = _md5_b64(b.path, offset, length)
        body = {"upload_id": upload_id, "parts": [{"number": n, "md5": md5, "size": length}]}
        url = f"/blobs/{b.digest}/parts"
        req = self._json("POST", url, json=body, idempotent=True)["parts"][0]
        self._send(
            req["method"],
            req["url"],
            direct=True,
            content=lambda: _counting(_file_range(b.path, offset, length), progress),
            headers=dict(req["headers"]),
        )

    run_all(send_part, todo, self.workers)
    body = {"upload_id": upload_id}
    self._send("POST", f"/blobs/{b.digest}/complete", json=body, idempotent=True)

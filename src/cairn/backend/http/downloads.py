"""Downloads of blobs a caller may read: small ones many to a request (a pack stream, hashed
on arrival), large ones streamed to their files; straight from the store by presigned URL
where the server's store can presign."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Sequence
from typing import IO, Any

from cairn.backend import packing
from cairn.backend.base import BlobDownload, Progress
from cairn.backend.http.sending import Sender, run_all
from cairn.errors import BlobNotFoundError
from cairn.manifest.hashcopy import write_verified
from cairn.manifest.packstream import read_header
from cairn.wire import PackLimits


def fetch_blobs(
    self: Sender, blobs: Sequence[BlobDownload], progress: Progress | None = None
) -> set[str]:
    """Every blob is hashed as it arrives and is written (all the digests are returned as
    verified): small ones many to a request, large ones streamed to their files."""
    if not blobs:
        return set()
    if self._presigned():
        return _fetch_direct(self, blobs, progress)
    packs = self._packs()
    small: list[BlobDownload] = []
    large = list(blobs)
    if packs is not None:
        small = [b for b in blobs if b.size is not None and b.size < packs.threshold]
        large = [b for b in blobs if b.size is None or b.size >= packs.threshold]

    def get(b: BlobDownload) -> None:
        def sink(body: IO[bytes]) -> None:  # hashed as it is written: never read back
            write_verified(body, b.dest, b.digest, progress)

        self._send("GET", f"/blobs/{b.digest}", sink=sink)

    if small:
        assert packs is not None
        _fetch_packed(self, small, packs, progress)
    run_all(get, large, self.workers)
    return {b.digest for b in blobs}


def _fetch_packed(
    self: Sender, blobs: Sequence[BlobDownload], packs: PackLimits, progress: Progress | None
) -> None:
    """Fetch small blobs many to a request: ``POST /blobs/read`` answers a pack stream."""
    dests = _dests(blobs)
    unique = [next(iter(g)) for g in _by_digest(blobs).values()]
    groups = packing.group(
        unique,
        lambda b: b.size or 0,
        target=packs.read_bytes,
        # One request names every blob of a group: at most what the server takes.
        max_items=min(packs.max_blobs, self.batch()),
    )

    def read(group: list[BlobDownload]) -> None:
        def sink(body: IO[bytes]) -> None:
            layout = read_header(body, max_blobs=len(group))
            packing.split_into(body, layout, dests, progress)

        body = {"digests": [b.digest for b in group]}
        self._send("POST", "/blobs/read", json=body, sink=sink, idempotent=True)

    run_all(read, groups, self.workers)


def _fetch_direct(
    self: Sender, blobs: Sequence[BlobDownload], progress: Progress | None
) -> set[str]:
    """Fetch straight from the store: a GET per blob of its own, a ranged GET per run of
    neighbours in a pack."""
    dests = _dests(blobs)
    digests = list(dests)
    singles: dict[str, dict[str, Any]] = {}
    ranges: list[dict[str, Any]] = []
    step = self.batch()
    for i in range(0, len(digests), step):
        body = {"digests": digests[i : i + step]}
        plan = self._json("POST", "/blobs/downloads", json=body, idempotent=True)
        singles.update(plan["downloads"])
        ranges.extend(plan.get("ranges", []))
    covered = set(singles) | {d for r in ranges for d, _ in r["blobs"]}
    absent = [d for d in digests if d not in covered]
    if absent:
        raise BlobNotFoundError(f"blob {absent[0]} not found", details={"missing": absent})

    def get_single(digest: str) -> None:
        req = singles[digest]
        first, *more = dests[digest]

        def sink(body: IO[bytes]) -> None:
            write_verified(body, first, digest, progress)

        self._send(req["method"], req["url"], direct=True, headers=dict(req["headers"]), sink=sink)
        for dest in more:
            shutil.copyfile(first, dest)

    def get_range(req: dict[str, Any]) -> None:
        layout = [(str(d), int(n)) for d, n in req["blobs"]]

        def sink(body: IO[bytes]) -> None:
            packing.split_into(body, layout, dests, progress)

        self._send(req["method"], req["url"], direct=True, headers=dict(req["headers"]), sink=sink)

    jobs = [functools.partial(get_range, r) for r in ranges]
    jobs += [functools.partial(get_single, d) for d in singles]
    run_all(lambda job: job(), jobs, self.workers)
    return set(digests)


def _by_digest(blobs: Sequence[BlobDownload]) -> dict[str, list[BlobDownload]]:
    out: dict[str, list[BlobDownload]] = {}
    for b in blobs:
        out.setdefault(b.digest, []).append(b)
    return out


def _dests(blobs: Sequence[BlobDownload]) -> dict[str, list[str]]:
    """Each digest's destination files (one blob may be wanted in several places)."""
    return {d: [b.dest for b in group] for d, group in _by_digest(blobs).items()}

"""Moving an artifact's bytes: upload on log, download and materialise, verify.

Upload sends only the blobs the backend lacks (one ``missing_blobs`` question for the whole
manifest). Download fills the object cache with the blobs it lacks — the backend hashes each as
it streams into a temporary file in the cache's ``tmp/``, which is renamed into place, never
read back — then materialises every file from the cache into the target folder: by default an
ordinary writable file (a copy-on-write clone, else a copy), with ``link_mode="hardlink"`` a
read-only hard link. Files already in place with the right content are left untouched; files
that are not part of the artifact are never removed (``checkout`` does that).

While it relies on cached objects a transfer holds a lease on the cache
(:func:`cairn.cache.quota.lease`), so no other process evicts them; after a download the cache
is brought back within ``CAIRN_CACHE_MAX`` if one is set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from cairn.backend.base import Backend, BlobDownload, BlobUpload, Progress
from cairn.cache import ObjectCache, hash_files
from cairn.cache.hashing import walk_files
from cairn.cache.objects import check_file, unique_tmp
from cairn.cache.quota import enforce, lease
from cairn.concurrency import PARALLEL_MIN_SIZE, map_by_size
from cairn.config import Settings
from cairn.errors import (
    BlobNotFoundError,
    CairnError,
    IntegrityError,
    VerificationError,
)
from cairn.faults import fault_point
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import stored_blob
from cairn.references import handler_for
from cairn.sdk.progress import progress_bar
from cairn.snapshots import is_staged

UPLOAD_ROUND = 20_000

log = logging.getLogger(__name__)


def upload_missing(
    manifest: Manifest,
    backend: Backend,
    cache: ObjectCache,
    staged: set[str],
    *,
    silent: bool = True,
) -> int:
    """Upload the blobs of ``manifest`` the backend lacks; returns how many were sent."""
    sources: dict[str, ManifestEntry] = {}
    # In path order, the order downloads ask in: blobs sent together are stored together (in
    # packs, on a server that packs), so a later download reads them back in a few ranges.
    for e in sorted(manifest, key=lambda e: e.path):
        if e.ref is None:
            h = stored_blob(e.digest, e.extra)
            if h not in sources or (sources[h].local_path is None and e.local_path is not None):
                sources[h] = e
    missing = backend.missing_blobs(list(sources))
    log.debug("%d of %d blobs already stored: skipped", len(sources) - len(missing), len(sources))
    uploads: list[BlobUpload] = []
    for h in missing:
        e = sources[h]
        if e.local_path is None:
            raise BlobNotFoundError(
                f"entry {e.path!r}: the store lacks its bytes (blob {h}) and this artifact has "
                "no local copy to upload"
            )
        # A staging-pack record was hashed as it was written at add time (cairn.snapshots).
        trusted = (
            e.local_path in staged
            or is_staged(e.local_path)
            or e.local_path == cache.object_path(h)
        )
        uploads.append(BlobUpload(digest=h, path=e.local_path, size=e.size or 0, trusted=trusted))
    if not uploads:
        return 0
    with (
        lease(cache.root),
        progress_bar(sum(u.size for u in uploads), "uploading", silent=silent) as advance,
    ):
        # A round at a time, so what checking and sending build per blob stays bounded.
        for i in range(0, len(uploads), UPLOAD_ROUND):
            batch = uploads[i : i + UPLOAD_ROUND]
            cached = [
                u.digest for u in batch if u.trusted and u.path == cache.object_path(u.digest)
            ]
            # Cache objects can be written through a hard-linked download: re-check them first.
            bad = set(cached) - cache.valid(cached) if cached else set()
            if bad:
                raise BlobNotFoundError(
                    f"{len(bad)} cached file(s) changed after they were added; add them again"
                )
            backend.upload_blobs(batch, _then_fault(advance, "log.mid_upload"))
    return len(uploads)


def _existing_ok(dests: dict[str, str], cache: ObjectCache, workers: int) -> set[str]:
    """Which destination paths already hold the right bytes (memo first, then hashing)."""
    present = [p for p in dests if os.path.isfile(p)]
    if not present:
        return set()
    ok = set()
    for fd in hash_files(present, cache.memo, workers=workers):
        if fd.hexdigest == dests[fd.path]:
            ok.add(fd.path)
    return ok


def fill_cache(
    hexes: Iterable[str],
    sizes: dict[str, int | None],
    backend: Backend,
    cache: ObjectCache,
    workers: int,
    advance: Progress | None = None,
) -> None:
    """Make sure every blob is in the cache, fetching the absent ones (the caller holds a
    :func:`~cairn.cache.quota.lease` until it is done with them)."""
    wanted = list(dict.fromkeys(hexes))
    valid = cache.valid(wanted)
    absent = [h for h in wanted if h not in valid]  # in the caller's (path) order: see above
    if advance is not None:
        advance(sum(sizes.get(h) or 0 for h in valid))  # nothing to fetch for these
    if not absent:
        return
    cache.ensure()
    plan = [BlobDownload(digest=h, dest=str(cache.new_tmp()), size=sizes.get(h)) for h in absent]
    admitted: set[str] = set()  # their temporary files are renamed away: nothing to delete
    try:
        verified = backend.fetch_blobs(plan, advance)
        fault_point("download.fetched")  # tests: fetched into tmp/, nothing admitted
        # Backends hash as they write and say so; any they did not are checked from disk,
        # the large ones in threads (hashlib lets go of the GIL).
        checked = [b for b in plan if b.digest in verified or (b.size or 0) < PARALLEL_MIN_SIZE]
        cache.admit_many([(Path(b.dest), b.digest) for b in checked], verified)
        admitted.update(b.digest for b in checked)
        large = [b for b in plan if b.digest not in verified and (b.size or 0) >= PARALLEL_MIN_SIZE]
        map_by_size(
            lambda b: cache.admit_many([(Path(b.dest), b.digest)], verified),
            large,
            lambda b: b.size,
            workers,
        )
    finally:
        for b in plan:
            if b.digest not in admitted:
                Path(b.dest).unlink(missing_ok=True)


# Entries handled per round of a download: what a round builds per entry is freed before the
# next, so a version of a million files never needs a million of each at once.
DOWNLOAD_ROUND = 10_000


def download(
    manifest: Manifest,
    paths: Sequence[str],
    root: Path,
    *,
    backend: Backend,
    cache: ObjectCache,
    settings: Settings,
    skip_cache: bool = False,
    allow_missing_references: bool = False,
    artifact: str | None = None,
) -> dict[str, str]:
    """Materialise ``paths`` of ``manifest`` under ``root``; returns path → local file.

    Raises:
        IntegrityError: bytes arrived damaged (or the server's store is damaged); the message
            names the entries (and ``artifact``, its name) they were for, nothing is placed
            for them.
    """
    root = root.absolute()
    root.mkdir(parents=True, exist_ok=True)
    entries = [manifest.entries[p] for p in sorted(paths)]  # path order: see upload_missing
    stored = [e for e in entries if e.ref is None]
    refs = [e for e in entries if e.ref is not None]
    out: dict[str, str] = {}
    total = sum(e.size or 0 for e in stored)
    with progress_bar(total, "downloading", silent=settings.silent) as advance:
        for i in range(0, len(stored), DOWNLOAD_ROUND):
            batch = stored[i : i + DOWNLOAD_ROUND]
            try:
                with lease(cache.root):
                    out.update(
                        _download_round(batch, root, backend, cache, settings, skip_cache, advance)
                    )
            except IntegrityError as exc:
                raise _naming_entries(exc, batch, artifact) from exc
    if stored and not skip_cache:
        enforce(cache, settings.cache_max)  # the lease is let go: now objects may go

    for e in refs:
        dest = root / e.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = unique_tmp(dest.parent)
        try:
            handler_for(e.ref or "", cache.memo).load(e, str(tmp))
            os.replace(tmp, dest)
            out[e.path] = str(dest)
        except CairnError:
            if not allow_missing_references:
                raise
        finally:
            tmp.unlink(missing_ok=True)
    return out


def _download_round(
    stored: Sequence[ManifestEntry],
    root: Path,
    backend: Backend,
    cache: ObjectCache,
    settings: Settings,
    skip_cache: bool,
    advance: Progress,
) -> dict[str, str]:
    workers = settings.hash_workers
    where = {e.path: os.path.join(root, e.path) for e in stored}
    dests = {where[e.path]: stored_blob(e.digest, e.extra) for e in stored}
    done = _existing_ok(dests, cache, workers)
    todo = [e for e in stored if where[e.path] not in done]
    advance(sum(e.size or 0 for e in stored if where[e.path] in done))  # already in place
    for parent in {os.path.dirname(where[e.path]) for e in todo}:
        os.makedirs(parent, exist_ok=True)

    if skip_cache:
        plan = [
            BlobDownload(
                digest=dests[where[e.path]],
                dest=str(unique_tmp(Path(where[e.path]).parent)),
                size=e.size,
            )
            for e in todo
        ]
        try:
            verified = backend.fetch_blobs(plan, advance)
            for e, b in zip(todo, plan, strict=True):
                if b.digest not in verified:
                    check_file(b.dest, b.digest)
                os.replace(b.dest, where[e.path])
        finally:
            for b in plan:
                Path(b.dest).unlink(missing_ok=True)
    else:
        sizes = {dests[where[e.path]]: e.size for e in todo}
        fill_cache(sizes.keys(), sizes, backend, cache, workers, advance)
        fault_point("download.filled")  # tests: every object in the cache, nothing placed

        def place(e: ManifestEntry) -> None:
            dest = where[e.path]
            cache.materialize(dests[dest], dest, mode=settings.link_mode)

        map_by_size(place, todo, lambda e: e.size, workers)
    cache.memo.remember((where[e.path], os.stat(where[e.path]), dests[where[e.path]]) for e in todo)
    return where


def _naming_entries(
    exc: IntegrityError, entries: Sequence[ManifestEntry], artifact: str | None
) -> IntegrityError:
    """``exc`` again, saying which entries' bytes were wrong: a user knows files, not MD5s."""
    details = exc.details
    blobs = set(details.get("mismatched") or ()) | {details.get("expected")} - {None}
    paths = [e.path for e in entries if stored_blob(e.digest, e.extra) in blobs]
    if not paths:
        return exc
    shown = ", ".join(repr(p) for p in paths[:5]) + (" …" if len(paths) > 5 else "")
    where = f" of {artifact}" if artifact else ""
    return type(exc)(
        f"{len(paths)} file(s){where} could not be downloaded intact: {shown}. {exc.message}",
        details={**details, "paths": paths[:1000], "artifact": artifact},
    )


def verify(manifest: Manifest, root: Path, cache: ObjectCache, workers: int) -> None:
    """Raise VerificationError naming every file under ``root`` that differs from the manifest."""
    if not root.is_dir():
        raise VerificationError(f"{root} is not a directory; download the artifact first")
    files = dict((rel, full) for full, rel in walk_files(root))
    problems: list[str] = []
    expected = {e.path: e for e in manifest if e.ref is None}
    refs = {e.path for e in manifest if e.ref is not None}
    for rel in sorted(set(files) - set(expected) - refs):
        problems.append(f"unexpected file {rel!r}")
    present = [p for p in expected if p in files]
    digests = hash_files([files[p] for p in present], cache.memo, workers=workers)
    for p, fd in zip(present, digests, strict=True):
        if fd.digest != expected[p].digest:
            problems.append(f"modified {p!r}: digest {fd.digest} != {expected[p].digest}")
    for p in sorted(set(expected) - set(files)):
        problems.append(f"missing {p!r}")
    if problems:
        raise VerificationError(
            f"{root} does not match the artifact ({len(problems)} problem(s)):\n  "
            + "\n  ".join(problems),
            details={"problems": problems},
        )


def remove_extra(manifest: Manifest, root: Path) -> None:
    """Delete files under ``root`` that are not in the manifest, and emptied folders."""
    keep = set(manifest.entries)
    for full, rel in walk_files(root):
        if rel not in keep:
            os.unlink(full)
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        if Path(dirpath) != root and not os.listdir(dirpath):
            os.rmdir(dirpath)


def _then_fault(advance: Progress, point: str) -> Progress:
    """``advance``, then the fault point ``point``. Small blobs go first, in packs, so with any
    the first report comes once the first pack is stored, the rest unsent (without any, as the
    first chunk of a large blob is sent)."""

    def report(n: int) -> None:
        advance(n)
        fault_point(point)

    return report

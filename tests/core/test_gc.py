"""Reclaiming storage: what no version uses goes, what any version uses stays readable."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from cairn.core.access import Principal
from cairn.core.db import models as m
from cairn.core.gc import Reclaimer
from cairn.errors import BlobNotFoundError, PermissionDeniedError
from cairn.manifest import Manifest, ManifestEntry, md5_b64
from cairn.records import VersionSpec
from tests.core.conftest import Core
from tests.core.helpers import data, hexmd5, log, read_version, send_pack

NOW = timedelta(0)


def _rows(core: Core) -> dict[str, m.Blob]:
    with core.db.read() as s:
        return {b.digest: b for b in s.query(m.Blob).all()}


def _stored_bytes(core: Core) -> int:
    """Bytes the store holds in blob objects and packs (what GC is meant to shrink)."""
    total = sum(core.store.size(d) or 0 for d in core.store.iter_digests())
    with core.db.read() as s:
        sizes = {p.id: p.size for p in s.query(m.Pack).all()}
    return total + sum(sizes.get(p, 0) for p, _ in core.store.iter_packs())


def test_unreferenced_blobs_wait_out_the_grace_then_go(core: Core, entity: str) -> None:
    keep = {f"k{i}": data(300, i) for i in range(20)}
    drop = {f"d{i}": data(300, 100 + i) for i in range(20)}
    old = log(core.service, entity, "ds", {**keep, **drop})
    new = log(core.service, entity, "ds", keep)
    core.service.delete_version(old.id)

    first = core.service.reclaim_storage(grace=timedelta(hours=1))
    # Nothing is old enough yet: not even condemned.
    assert first.condemned == 0 and first.blobs_deleted == 0

    reclaimer = Reclaimer(core.db, core.store, core.service.packs)
    later = m.utcnow() + timedelta(hours=2)
    marked = reclaimer.run(grace=timedelta(hours=1), repack_below=0, now=later)
    # Condemned (the old manifest too), but a run within the grace deletes nothing.
    assert marked.condemned == len(drop) + 1 and marked.blobs_deleted == 0
    assert set(core.service.missing_blobs([hexmd5(b) for b in drop.values()])) == {
        hexmd5(b) for b in drop.values()
    }
    swept = reclaimer.run(grace=timedelta(hours=1), repack_below=0, now=later + timedelta(hours=2))
    assert swept.blobs_deleted == len(drop) + 1
    assert set(_rows(core)) >= {hexmd5(b) for b in keep.values()}
    assert not {hexmd5(b) for b in drop.values()} & set(_rows(core))
    assert read_version(core.service, new.id) == keep
    if core.kind == "files":
        assert swept.objects_deleted == len(drop) + 1
        assert not {hexmd5(b) for b in drop.values()} & set(core.store.iter_digests())


def test_sparse_packs_are_rewritten_and_dropped(core: Core, entity: str) -> None:
    if core.kind == "files":
        pytest.skip("no packs in this store")
    keep = {f"k{i}": data(1000, i) for i in range(10)}
    drop = {f"d{i}": data(1000, 100 + i) for i in range(30)}
    old = log(core.service, entity, "ds", {**keep, **drop})
    new = log(core.service, entity, "ds", keep)
    core.service.delete_version(old.id)
    before = _stored_bytes(core)
    first_packs = {p for p, _ in core.store.iter_packs()}

    hour = timedelta(hours=1)
    reclaimer = Reclaimer(core.db, core.store, core.service.packs)
    t0 = m.utcnow() + 2 * hour
    # Condemned blobs count as dead space already, so the first run may rewrite the pack;
    # the old one is retired once the second run has deleted the condemned rows in it.
    first = reclaimer.run(grace=hour, repack_below=0.5, now=t0)
    assert first.condemned == len(drop) + 1
    report = reclaimer.run(grace=hour, repack_below=0.5, now=t0 + 2 * hour)
    assert report.blobs_deleted == len(drop) + 1
    assert first.packs_rewritten + report.packs_rewritten == 1
    assert first.bytes_rewritten + report.bytes_rewritten == sum(len(b) for b in keep.values())
    assert report.packs_deleted == 0
    with core.db.read() as s:
        assert all(s.get_one(m.Pack, p).retired_at is not None for p in first_packs)
    assert read_version(core.service, new.id) == keep
    # The old packs are retired, not yet deleted: a reader that located a blob there a moment
    # ago can still read it. A run after the grace deletes them.
    assert first_packs <= {p for p, _ in core.store.iter_packs()}
    again = reclaimer.run(grace=hour, now=t0 + 4 * hour)
    assert again.packs_deleted == len(first_packs)
    assert not first_packs & {p for p, _ in core.store.iter_packs()}
    assert read_version(core.service, new.id) == keep
    assert _stored_bytes(core) < before / 3


def test_referenced_blobs_are_never_taken(core: Core, entity: str) -> None:
    files = {f"f{i}": data(500, i) for i in range(30)}
    v = log(core.service, entity, "ds", files)
    report = core.service.reclaim_storage(grace=NOW, repack_below=1.0)
    assert report.blobs_deleted == 0
    assert read_version(core.service, v.id) == files
    # A blob shared with a deleted version stays for the version that still has it.
    w = log(core.service, entity, "other", {"shared": files["f0"], "own": data(77, 1)})
    core.service.delete_version(w.id)
    core.service.reclaim_storage(grace=NOW)
    assert read_version(core.service, v.id) == files


def test_a_commit_claims_a_condemned_blob_back(core: Core, entity: str) -> None:
    blob = data(400, 1)
    vid = core.service.begin_version(VersionSpec(entity, "p", "ds", "dataset"))
    send_pack(core.service, [blob])  # uploaded, not yet committed: unreferenced
    reclaimer = Reclaimer(core.db, core.store, core.service.packs)
    reclaimer.run(grace=timedelta(hours=1), now=m.utcnow() + timedelta(hours=2))
    assert _rows(core)[hexmd5(blob)].condemned_at is not None
    # Told it is missing, a client would send it again; a commit of what it sent claims it.
    assert core.service.missing_blobs([hexmd5(blob)]) == [hexmd5(blob)]
    manifest = Manifest([ManifestEntry(path="x", digest=md5_b64(blob), size=len(blob))])
    v = core.service.commit_version(vid, manifest)
    assert _rows(core)[hexmd5(blob)].condemned_at is None
    reclaimer.run(grace=timedelta(hours=1), now=m.utcnow() + timedelta(hours=10))
    assert read_version(core.service, v.id) == {"x": blob}


def test_a_commit_of_a_blob_being_deleted_fails_cleanly(core: Core, entity: str) -> None:
    """GC's second mark wins over a client that was told the blob was there long before."""
    blob = data(400, 2)
    vid = core.service.begin_version(VersionSpec(entity, "p", "ds", "dataset"))
    core.service.store_blob_stream(hexmd5(blob), io.BytesIO(blob))
    with core.db.write() as s:  # GC marked it for deletion and crashed before removing it
        s.get_one(m.Blob, hexmd5(blob)).deleting = True
    manifest = Manifest([ManifestEntry(path="x", digest=md5_b64(blob), size=len(blob))])
    with pytest.raises(BlobNotFoundError):
        core.service.commit_version(vid, manifest)
    # Sending it again brings it back (the bytes were still there) and the commit goes in.
    assert core.service.missing_blobs([hexmd5(blob)]) == [hexmd5(blob)]
    core.service.store_blob_stream(hexmd5(blob), io.BytesIO(blob))
    v = core.service.commit_version(vid, manifest)
    assert read_version(core.service, v.id) == {"x": blob}


def test_a_crash_between_marking_and_deleting_is_finished_later(core: Core) -> None:
    blob = data(300, 3)
    core.service.store_blob_stream(hexmd5(blob), io.BytesIO(blob))
    with core.db.write() as s:
        s.get_one(m.Blob, hexmd5(blob)).deleting = True
    core.store.delete(hexmd5(blob))  # the object went; the crash came before the row did
    # An upload that finds the object gone is refused, so no row ever points at nothing...
    with pytest.raises(BlobNotFoundError, match="upload them again"):
        core.service.record_blobs([(hexmd5(blob), len(blob))])
    # ...and the next GC run finishes the deletion.
    report = core.service.reclaim_storage(grace=timedelta(hours=1))
    assert report.objects_deleted == 1
    assert hexmd5(blob) not in _rows(core)


def test_orphaned_pack_objects_are_swept(core: Core, entity: str, tmp_path: object) -> None:
    """An upload that crashed after writing its pack and before registering it."""
    if core.kind == "files":
        pytest.skip("no packs in this store")
    files = {"a": data(100, 1)}
    v = log(core.service, entity, "ds", files)
    path = tmp_path / "orphan"  # type: ignore[operator]
    path.write_bytes(b"half an upload")
    core.store.put_pack("f" * 32, str(path), hexmd5(b"half an upload"))
    young = core.service.reclaim_storage(grace=NOW)  # orphans must be an hour old by default
    assert "f" * 32 in {p for p, _ in core.store.iter_packs()} and young.packs_deleted == 0
    report = core.service.reclaim_storage(grace=NOW, orphans_older_than=NOW)
    assert report.packs_deleted == 1
    assert "f" * 32 not in {p for p, _ in core.store.iter_packs()}
    assert read_version(core.service, v.id) == files


def test_only_a_superuser_may_reclaim(core: Core) -> None:
    someone = core.service.bind(Principal(name="bob", roles={"bob": "admin"}))
    with pytest.raises(PermissionDeniedError):
        someone.reclaim_storage(grace=NOW)

"""A store keeps the installation id it was stamped with (cairn.core.stamp), on every kind."""

from __future__ import annotations

from cairn.core.blobs.base import BlobStore


def test_a_store_keeps_its_installation_stamp(store: BlobStore) -> None:
    assert store.read_stamp() is None
    store.write_stamp("5d1f3c1e-0000-4000-8000-000000000001")
    assert store.read_stamp() == "5d1f3c1e-0000-4000-8000-000000000001"
    # The stamp is not a blob: GC and audits that list blobs never see it.
    assert list(store.iter_digests()) == []
    assert [p for p, _ in store.iter_packs()] == []

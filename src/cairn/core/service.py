"""The domain service: versioning rules and the commit protocol, over a database and a store.

A version is made in three steps (docs/architecture.md, "Making a version"):

1. :meth:`Service.begin_version` checks names and the collection's type and creates a PENDING
   version that nobody else can see;
2. the client asks :meth:`Service.missing_blobs` which digests it must upload — those the store
   lacks or the caller does not hold (:mod:`cairn.core.possession`) — and uploads only those
   (each is verified before :meth:`Service.record_blobs` admits it);
3. :meth:`Service.commit_version`, in one transaction, checks that every blob the manifest names
   is stored and held by the caller with the size its entries claim, and the version's bounds
   and paths (:mod:`cairn.core.commit_checks`), then either returns the latest version (same
   digest: no new version) or assigns the next index, moves ``latest`` and the requested
   aliases, and makes the version visible.

A process that dies anywhere before step 3 leaves only a PENDING row, which readers never see
and :meth:`Service.collect_garbage` removes after an expiry.
"""

from __future__ import annotations

from cairn.core.access import LOCAL, Principal
from cairn.core.blobs.base import BlobStore
from cairn.core.commit_checks import CommitLimits
from cairn.core.db.engine import Database
from cairn.core.packs import PackPolicy
from cairn.core.services.catalog_reads import CatalogReads
from cairn.core.services.curation import Curation
from cairn.core.services.maintenance import Maintenance
from cairn.core.services.runs import Runs, new_run_id
from cairn.core.services.versions import Versions, new_version_id

__all__ = ["Service", "new_run_id", "new_version_id"]


class Service(Runs, Versions, CatalogReads, Curation, Maintenance):
    """Every rule about entities, projects, collections, versions, aliases, tags and runs;
    the blobs themselves are :class:`~cairn.core.storage.Storage`'s. The parts live in
    :mod:`cairn.core.services`, one noun each."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        principal: Principal = LOCAL,
        packs: PackPolicy | None = None,
        limits: CommitLimits | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.principal = principal
        self.packs = packs if packs is not None else PackPolicy.for_store(blobs)
        self.limits = limits if limits is not None else CommitLimits()

    def bind(self, principal: Principal) -> Service:
        """The same service acting for another caller (one per server request)."""
        return Service(self.db, self.blobs, principal, self.packs, self.limits)

"""The domain service: versioning rules and the commit protocol, over a database and a store.

A version is made in three steps (DESIGN.md, "Commit protocol"):

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

import hashlib
import secrets
import string
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cairn import naming
from cairn.core import (
    catalog,
    commit_checks,
    commit_tokens,
    deletion,
    history,
    permissions,
    possession,
    registries,
)
from cairn.core import latest as latest_alias
from cairn.core import links as _links
from cairn.core import ttl as _ttl
from cairn.core.access import LOCAL, ROLE_RANK, Principal
from cairn.core.blobs.base import BlobStore
from cairn.core.commit_checks import CommitLimits
from cairn.core.db import models as m
from cairn.core.db.bulk import among
from cairn.core.db.bulk import bulk_insert as _bulk_insert
from cairn.core.db.bulk import chunks as _chunks
from cairn.core.db.engine import Database
from cairn.core.db.locks import hold_blob_use
from cairn.core.packs import PackPolicy
from cairn.core.storage import Storage
from cairn.errors import (
    AliasInUseError,
    ArtifactNotFoundError,
    BlobNotFoundError,
    CollectionNotFoundError,
    ConflictError,
    EntryConflictError,
    PermissionDeniedError,
    ProjectNotFoundError,
    RunNotFoundError,
    TypeConflictError,
    ValidationError,
    VersionLinkedError,
)
from cairn.faults import fault_point
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import stored_blob
from cairn.records import (
    COMMITTED,
    PENDING,
    CollectionRecord,
    RegistryRecord,
    RunRecord,
    StorageReport,
    TypeRecord,
    VersionRecord,
    VersionSpec,
    VersionUpdate,
)

T = TypeVar("T")
_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_run_id() -> str:
    return "".join(secrets.choice(_RUN_ID_ALPHABET) for _ in range(8))


def new_version_id() -> str:
    return secrets.token_hex(12)


class _HashingWriter:
    """A binary file wrapper that MD5s what is written through it."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.md5 = hashlib.md5()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.md5.update(data)
        self.size += len(data)
        return self.f.write(data)


class Service(Storage):
    """Every rule about entities, projects, collections, versions, aliases, tags and runs;
    the blobs themselves are :class:`~cairn.core.storage.Storage`'s."""

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

    # -- permissions (overridden in spirit by the server's roles) -------------------------------
    def _may(self, s: Session, project: m.Project, action: str) -> bool:
        from cairn.core import permissions

        return permissions.allowed(s, self.principal, project, action)

    def _check(self, s: Session, project: m.Project, action: str, what: str) -> None:
        from cairn.core import permissions

        permissions.require(s, self.principal, project, action, what)

    # -- entities and projects -------------------------------------------------------------
    def _entity(self, s: Session, name: str, *, create: bool) -> m.Entity | None:
        ent = s.scalar(select(m.Entity).where(m.Entity.name == name))
        if ent is None and create:
            from cairn.core import permissions

            permissions.require_create_entity(self.principal, name)
            naming.check_name(name, "entity name")
            ent = m.Entity(name=name, kind="user")
            s.add(ent)
            s.flush()
        return ent

    def _project(self, s: Session, entity: str, project: str, *, create: bool) -> m.Project:
        # Only a superuser makes entities; anyone else is told the project is missing, as for
        # a project the caller may not read (permissions.require), whether the entity exists.
        ent = self._entity(s, entity, create=create and self.principal.is_superuser)
        proj = None
        if ent is not None:
            proj = s.scalar(
                select(m.Project).where(m.Project.entity_id == ent.id, m.Project.name == project)
            )
        if proj is None:
            if not create or ent is None:
                raise ProjectNotFoundError(f"project {entity}/{project} not found")
            from cairn.core import permissions

            permissions.require_create_project(s, self.principal, ent, project)
            naming.check_name(project, "project name")
            proj = m.Project(entity_id=ent.id, name=project)
            s.add(proj)
            s.flush()
        return proj

    def _readable_project(self, s: Session, entity: str, project: str) -> m.Project:
        proj = self._project(s, entity, project, create=False)
        self._check(s, proj, "read", f"project {entity}/{project}")
        return proj

    # -- runs ------------------------------------------------------------------------------
    def create_run(
        self,
        entity: str,
        project: str,
        *,
        run_id: str | None = None,
        name: str | None = None,
        job_type: str | None = None,
        group: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> RunRecord:
        """Start a run (or return the existing one with that id: runs can be resumed)."""
        if run_id is not None:
            naming.check_name(run_id, "run id")
        for label, value in (("run name", name), ("job_type", job_type), ("group", group)):
            if value is not None and (not isinstance(value, str) or len(value) > 128):
                raise ValidationError(f"{label} must be a string of at most 128 characters")
        config = naming.clean_metadata(config) if config else {}

        def create(s: Session) -> RunRecord:
            proj = self._project(s, entity, project, create=True)
            self._check(s, proj, "write", f"project {entity}/{project}")
            rid = run_id or new_run_id()
            run = s.scalar(select(m.Run).where(m.Run.project_id == proj.id, m.Run.public_id == rid))
            if run is None:
                run = m.Run(
                    public_id=rid,
                    project_id=proj.id,
                    name=name or rid,
                    job_type=job_type,
                    group=group,
                    config=config,
                    state="running",
                )
                s.add(run)
                s.flush()
            return self._run_record(s, run)

        return self._write(create)

    def finish_run(self, entity: str, project: str, run_id: str, state: str = "finished") -> None:
        if state not in ("finished", "failed", "crashed"):
            raise ValidationError(f"run state {state!r} is not one of finished, failed, crashed")
        with self.db.write() as s:
            run = self._run(s, entity, project, run_id, "write")
            run.state = state
            run.finished_at = m.utcnow()

    def get_run(self, entity: str, project: str, run_id: str) -> RunRecord:
        with self.db.read() as s:
            return self._run_record(s, self._run(s, entity, project, run_id, "read"))

    def _run(self, s: Session, entity: str, project: str, run_id: str, action: str) -> m.Run:
        try:
            proj = self._project(s, entity, project, create=False)
            self._check(s, proj, action, f"project {entity}/{project}")
        except ProjectNotFoundError:
            raise RunNotFoundError(f"run {entity}/{project}/{run_id} not found") from None
        run = s.scalar(select(m.Run).where(m.Run.project_id == proj.id, m.Run.public_id == run_id))
        if run is None:
            raise RunNotFoundError(f"run {entity}/{project}/{run_id} not found")
        return run

    def _run_record(self, s: Session, run: m.Run) -> RunRecord:
        from cairn.core import run_data

        proj = s.get_one(m.Project, run.project_id)
        ent = s.get_one(m.Entity, proj.entity_id)
        return RunRecord(
            id=run.public_id,
            entity=ent.name,
            project=proj.name,
            name=run.name,
            job_type=run.job_type,
            group=run.group,
            config=dict(run.config or {}),
            state=run.state,
            created_at=m.as_utc(run.created_at),
            finished_at=m.as_utc(run.finished_at) if run.finished_at else None,
            **run_data.record_extras(s, run),
        )

    def use_version(
        self,
        entity: str,
        project: str,
        run_id: str,
        version_id: str,
        use_as: str | None = None,
        link_id: str | None = None,
    ) -> None:
        """Record that a run consumed a version (lineage), through the portfolio membership
        ``link_id`` if it was found in a portfolio; idempotent."""
        with self.db.write() as s:
            run = self._run(s, entity, project, run_id, "write")
            ver = self._visible_version(s, version_id)
            link_pk = _links.membership_of(s, ver, link_id) if link_id is not None else None
            edge = s.scalar(
                select(m.RunInput).where(
                    m.RunInput.run_id == run.id, m.RunInput.version_id == ver.id
                )
            )
            if edge is None:
                s.add(m.RunInput(run_id=run.id, version_id=ver.id, use_as=use_as, link_id=link_pk))
            elif edge.link_id is None and link_pk is not None:
                edge.link_id = link_pk

    def version_producer(self, version_id: str) -> RunRecord | None:
        with self.db.read() as s:
            ver = self._visible_version(s, version_id)
            if ver.run_id is None:
                return None
            return self._run_record(s, s.get_one(m.Run, ver.run_id))

    def version_consumers(self, version_id: str) -> list[RunRecord]:
        with self.db.read() as s:
            ver = self._visible_version(s, version_id)
            runs = s.scalars(
                select(m.Run)
                .join(m.RunInput, m.RunInput.run_id == m.Run.id)
                .where(m.RunInput.version_id == ver.id)
                .order_by(m.RunInput.created_at, m.Run.id)
            ).all()
            return [self._run_record(s, r) for r in runs]

    def run_versions(
        self, entity: str, project: str, run_id: str, *, used: bool
    ) -> list[VersionRecord]:
        """Versions a run logged (``used=False``) or used (``used=True``)."""
        with self.db.read() as s:
            run = self._run(s, entity, project, run_id, "read")
            if used:
                q = (
                    select(m.Version)
                    .join(m.RunInput, m.RunInput.version_id == m.Version.id)
                    .where(m.RunInput.run_id == run.id)
                )
            else:
                q = select(m.Version).where(m.Version.run_id == run.id)
            q = q.where(m.Version.state == COMMITTED).order_by(m.Version.id)
            out = []
            for v in s.scalars(q).all():
                try:
                    out.append(self._version_record(s, v, check=True))
                except ArtifactNotFoundError:
                    continue  # a version in a project the caller cannot read
            return out

    # -- collections ---------------------------------------------------------------------------
    def _collection(self, s: Session, proj: m.Project, name: str) -> m.Collection | None:
        return s.scalar(
            select(m.Collection).where(
                m.Collection.project_id == proj.id, m.Collection.name == name
            )
        )

    # -- the commit protocol -------------------------------------------------------------------
    def begin_version(self, spec: VersionSpec) -> str:
        """Create a PENDING version and return its id. Nothing becomes visible yet."""
        naming.check_name(spec.collection)
        naming.check_type(spec.type)
        naming.check_name(spec.entity, "entity name")
        naming.check_name(spec.project, "project name")
        description = naming.check_description(spec.description)
        metadata = naming.clean_metadata(spec.metadata)
        if spec.distributed_id is not None and (
            not isinstance(spec.distributed_id, str) or not 0 < len(spec.distributed_id) <= 256
        ):
            raise ValidationError("distributed_id must be a string of 1 to 256 characters")

        def begin(s: Session) -> str:
            proj = self._project(s, spec.entity, spec.project, create=True)
            self._check(s, proj, "write", f"project {spec.entity}/{spec.project}")
            coll = self._collection(s, proj, spec.collection)
            if coll is None:
                coll = m.Collection(project_id=proj.id, name=spec.collection, type=spec.type)
                s.add(coll)
                s.flush()
            elif coll.kind == _links.PORTFOLIO:
                raise ConflictError(
                    f"{spec.entity}/{spec.project}/{spec.collection} is a portfolio: versions are "
                    "linked into it, not logged"
                )
            elif coll.type != spec.type:
                raise TypeConflictError(
                    f"artifact {spec.collection!r} already exists in {spec.entity}/{spec.project} "
                    f"with type {coll.type!r}; it cannot also have type {spec.type!r}",
                    details={"existing_type": coll.type},
                )
            if spec.distributed_id is not None:
                # Parallel writers share one PENDING version per distributed id. The
                # collection row lock serialises the find-or-create on PostgreSQL.
                s.get_one(m.Collection, coll.id, with_for_update=True)
                shared = s.scalar(
                    select(m.Version).where(
                        m.Version.collection_id == coll.id,
                        m.Version.state == PENDING,
                        m.Version.distributed_id == spec.distributed_id,
                    )
                )
                if shared is not None:
                    shared.updated_at = m.utcnow()
                    return shared.public_id
            run_pk = None
            if spec.run_id is not None:
                run = s.scalar(
                    select(m.Run).where(m.Run.project_id == proj.id, m.Run.public_id == spec.run_id)
                )
                if run is None:
                    raise RunNotFoundError(f"run {spec.run_id} not found in this project")
                run_pk = run.id
            ver = m.Version(
                public_id=new_version_id(),
                collection_id=coll.id,
                state=PENDING,
                description=description,
                metadata_=metadata,
                run_id=run_pk,
                incremental=spec.incremental,
                distributed_id=spec.distributed_id,
            )
            _ttl.set_ttl(ver, spec.ttl_seconds)
            s.add(ver)
            s.flush()
            return ver.public_id

        return self._write(begin)

    def add_entries(self, version_id: str, manifest: Manifest) -> int:
        """Merge entries into a shared PENDING version (``upsert_artifact``).

        All or nothing: a path another writer already added with different content raises
        EntryConflictError and this call adds nothing. The same path with the same content is
        fine. Every stored entry's blob must be held by the caller
        (:mod:`cairn.core.possession`); the version as a whole is checked again at commit.

        Raises:
            BlobNotFoundError: the caller does not hold a blob it names (upload it).
            SizeMismatchError, FileFolderConflictError, LimitExceededError: see
                :mod:`cairn.core.commit_checks`.
        """
        commit_checks.check_entries(self.limits, manifest.entries, len(manifest))
        commit_checks.check_paths(manifest.entries)
        self._check_blobs_present(manifest)
        final = self._finalise_manifest(manifest, version_id)

        def merge(s: Session) -> int:
            ver = self._pending(s, version_id)
            s.get_one(m.Collection, ver.collection_id, with_for_update=True)
            # Claimed from GC, as a commit does (held: checked just above).
            self._check_blobs_present(final, s, held=False)
            existing: dict[str, str] = {}
            paths = [e.path for e in final]
            for chunk in _chunks(paths):
                rows_found = s.execute(
                    select(m.VersionFile.path, m.VersionFile.digest).where(
                        m.VersionFile.version_id == ver.id, among(s, m.VersionFile.path, chunk)
                    )
                ).all()
                existing.update((p, d) for p, d in rows_found)
            clashes = [e.path for e in final if e.path in existing and existing[e.path] != e.digest]
            if clashes:
                shown = ", ".join(repr(p) for p in clashes[:5])
                raise EntryConflictError(
                    f"another writer already added {len(clashes)} of these paths with different "
                    f"content ({shown}); nothing from this upsert was added",
                    details={"paths": clashes[:1000]},
                )
            rows = [self._file_row(ver.id, e) for e in final if e.path not in existing]
            _bulk_insert(s, m.VersionFile, rows)
            ver.updated_at = m.utcnow()
            return len(rows)

        return self._write(merge)

    @staticmethod
    def _file_row(version_pk: int, e: ManifestEntry) -> dict[str, Any]:
        return {
            "version_id": version_pk,
            "path": e.path,
            "digest": e.digest,
            "size": e.size,
            "ref": e.ref,
            "birth_artifact_id": e.birth_artifact_id,
            "extra": dict(e.extra) if e.extra else None,
            "blob": None if e.ref is not None else stored_blob(e.digest, e.extra),
        }

    def _pending_entries(self, s: Session, version_pk: int) -> Manifest:
        rows = s.scalars(select(m.VersionFile).where(m.VersionFile.version_id == version_pk))
        return Manifest(
            ManifestEntry(
                path=r.path,
                digest=r.digest,
                size=r.size,
                ref=r.ref,
                birth_artifact_id=r.birth_artifact_id,
                extra=dict(r.extra or {}),
            )
            for r in rows
        )

    def abort_version(self, version_id: str) -> None:
        """Drop a PENDING version (a committed one stays: nothing happens).

        Raises:
            ArtifactNotFoundError, PermissionDeniedError: as :meth:`_writable_version`.
        """
        with self.db.write() as s:
            ver = self._writable_version(s, version_id)
            if ver.state == PENDING:
                s.delete(ver)

    def commit_version(
        self,
        version_id: str,
        manifest: Manifest | None,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
        token: str | None = None,
    ) -> VersionRecord:
        """Make a PENDING version visible, or return the latest one if the content is the same.

        ``token`` (a client's idempotency key) makes a retry of a commit that already
        succeeded answer with the version it made (:mod:`cairn.core.commit_tokens`).

        Raises:
            BlobNotFoundError: the caller does not hold a blob the manifest names (upload it).
            SizeMismatchError, FileFolderConflictError, LimitExceededError: see
                :mod:`cairn.core.commit_checks`.
        """
        aliases = naming.clean_aliases(aliases)
        tags = naming.clean_tags(tags)
        token = commit_tokens.check(token)
        if (done := self._committed_with(version_id, token)) is not None:
            return done
        with self.db.read() as s:
            pending = self._pending(s, version_id)
            upserted = manifest is None
            if manifest is None:  # finishing a version that parallel writers upserted into
                manifest = self._pending_entries(s, pending.id)
            latest_now = self._latest(s, pending.collection_id)
            latest_digest = latest_now.digest if latest_now is not None else None
            base = latest_now if pending.incremental else None
            base_manifest = self._load_manifest(base) if base is not None else None
        if base_manifest is not None:  # incremental: the draft patches the latest version
            patched = base_manifest.copy()
            for e in manifest:
                patched.add(e)
            manifest = patched
        # The digest counts only paths and entry digests, which finalising does not change.
        digest = manifest.digest()
        final = manifest
        manifest_digest = None
        # Entries upserted into a shared version were checked for possession when added.
        held = not upserted
        if latest_digest != digest:
            commit_checks.check_entries(self.limits, manifest.entries, len(manifest))
            commit_checks.check_paths(manifest.entries)
            final = self._finalise_manifest(manifest, version_id)
            # Only a new version needs its blobs checked and its manifest stored; the same
            # content as the latest version is answered from the database alone.
            self._check_blobs_present(final, held=held)
            manifest_digest = self._store_manifest(final)
            held = False  # asked already; under the write lock only GC's claim remains

        with self.db.write() as s:
            ver = self._pending(s, version_id)
            coll = s.get_one(m.Collection, ver.collection_id, with_for_update=True)
            latest = self._latest(s, coll.id)
            if ver.incremental and (latest.id if latest else None) != (base.id if base else None):
                raise ConflictError(
                    "another version was committed while this incremental version was being "
                    "prepared; log it again"
                )
            now = m.utcnow()
            if latest is not None and latest.digest == digest:
                commit_tokens.remember(s, version_id, token, latest.id, deduplicated=True)
                return self._deduplicate(s, ver, latest, aliases, tags)
            if manifest_digest is None:
                # Rare: the latest version changed between our read and this transaction, so
                # this is a new version after all. Store its manifest now, admitting the blob
                # in this same transaction (a second write transaction would wait on ours).
                commit_checks.check_entries(self.limits, manifest.entries, len(manifest))
                commit_checks.check_paths(manifest.entries)
                final = self._finalise_manifest(manifest, version_id)
                manifest_digest = self._store_manifest(final, session=s)
            self._check_blobs_present(final, s, held=held)
            history.latest_moves(s, self.principal, coll.id, ver.id)
            index = (
                s.execute(
                    update(m.Collection)
                    .where(m.Collection.id == coll.id)
                    .values(next_index=m.Collection.next_index + 1, updated_at=now)
                    .returning(m.Collection.next_index)
                ).scalar_one()
                - 1
            )
            ver.index = index
            ver.state = COMMITTED
            ver.digest = digest
            ver.size = final.size
            ver.file_count = len(final)
            ver.manifest_digest = manifest_digest
            ver.committed_at = now
            ver.updated_at = now
            s.flush()
            if not upserted:  # upserted entries already have their rows
                _bulk_insert(s, m.VersionFile, (self._file_row(ver.id, e) for e in final))
            self._move_aliases(s, coll.id, ver.id, aliases)
            self._add_tags(s, ver.id, tags)
            latest_alias.clear(s, coll.id)
            commit_tokens.remember(s, version_id, token, ver.id, deduplicated=False)
            s.flush()
            fault_point("log.mid_commit")  # every row written, the transaction not committed
            return self._version_record(s, ver)

    def commit_if_unchanged(
        self,
        version_id: str,
        digest: str,
        *,
        aliases: Sequence[str] = (),
        tags: Sequence[str] = (),
        token: str | None = None,
    ) -> VersionRecord | None:
        """Answer a PENDING version with the latest one if that has manifest digest ``digest``.

        Returns that version (``deduplicated``) with the aliases and tags applied, the pending
        version gone; or None, changing nothing, when the latest differs (or there is none):
        the caller then commits its manifest as usual. A client that re-logs unchanged
        content so sends one digest, not a manifest of every file. ``token``: as for
        :meth:`commit_version`.
        """
        aliases = naming.clean_aliases(aliases)
        tags = naming.clean_tags(tags)
        token = commit_tokens.check(token)
        if (done := self._committed_with(version_id, token)) is not None:
            return done
        with self.db.write() as s:
            ver = self._pending(s, version_id)
            if ver.incremental:
                raise ValidationError("an incremental version patches the latest: commit it")
            coll = s.get_one(m.Collection, ver.collection_id, with_for_update=True)
            latest = self._latest(s, coll.id)
            if latest is None or latest.digest != digest:
                return None
            commit_tokens.remember(s, version_id, token, latest.id, deduplicated=True)
            return self._deduplicate(s, ver, latest, aliases, tags)

    def _committed_with(self, version_id: str, token: str | None) -> VersionRecord | None:
        """The version an earlier commit of ``version_id`` with ``token`` made, if any."""
        if token is None:
            return None
        with self.db.read() as s:
            found = commit_tokens.find(s, version_id, token)
            if found is None:
                return None
            ver, deduplicated = found
            self._check(s, self._project_of(s, ver), "write", "this artifact")
            return replace(self._version_record(s, ver), deduplicated=deduplicated)

    def _deduplicate(
        self,
        s: Session,
        pending: m.Version,
        latest: m.Version,
        aliases: Sequence[str],
        tags: Sequence[str],
    ) -> VersionRecord:
        """Same content as the newest version: no new version; the newest gets the aliases."""
        self._move_aliases(s, latest.collection_id, latest.id, aliases)
        self._add_tags(s, latest.id, tags)
        latest_alias.clear(s, latest.collection_id)  # logged again: `latest` comes back
        latest.updated_at = m.utcnow()
        s.delete(pending)
        s.flush()
        return replace(self._version_record(s, latest), deduplicated=True)

    def _store_manifest(self, manifest: Manifest, session: Session | None = None) -> str:
        """Write the manifest's canonical JSON to the store as a blob; return its digest.

        Streamed through a temporary file, so a huge manifest is never one string in memory.
        With ``session``, the blob is admitted in that (already open) write transaction.
        """
        with tempfile.TemporaryFile() as f:
            writer = _HashingWriter(f)
            manifest.write_canonical(writer)  # type: ignore[arg-type]
            commit_checks.check_manifest_bytes(self.limits, writer.size)
            digest = writer.md5.hexdigest()
            f.seek(0)
            if session is None:
                if self.missing_blobs([digest]):
                    self.store_blob_stream(digest, f, writer.size)
            else:
                row = session.get(m.Blob, digest)
                if row is None or row.deleting:
                    self.blobs.put_stream(digest, f, writer.size)
                    self._admit(session, [(digest, writer.size)])
        return digest

    def _writable_version(self, s: Session, version_id: str) -> m.Version:
        """Version ``version_id``, which the caller is about to change.

        Raises:
            ArtifactNotFoundError: no such version, or one in a project the caller may not
                read: the same error and message, so asking cannot tell them apart.
            PermissionDeniedError: the caller may read but not write its project.
        """
        ver = s.scalar(select(m.Version).where(m.Version.public_id == version_id))
        if ver is None or not self._may(s, self._project_of(s, ver), "read"):
            raise ArtifactNotFoundError(f"pending version {version_id} not found")
        self._check(s, self._project_of(s, ver), "write", "this artifact")
        return ver

    def _pending(self, s: Session, version_id: str) -> m.Version:
        ver = self._writable_version(s, version_id)
        if ver.state != PENDING:
            raise ConflictError(f"version {version_id} is {ver.state}, not PENDING")
        return ver

    @staticmethod
    def _finalise_manifest(manifest: Manifest, version_id: str) -> Manifest:
        """The manifest as stored: each stored entry's birth stamped, no local paths."""
        out = Manifest()
        for e in manifest:
            if e.ref is None and e.birth_artifact_id is None:
                e = e.with_changes(birth_artifact_id=version_id, local_path=None)
            elif e.local_path is not None:
                e = e.with_changes(local_path=None)
            out.add(e)
        return out

    def _check_blobs_present(
        self, manifest: Manifest, s: Session | None = None, *, held: bool = True
    ) -> None:
        """Raise unless the store holds every blob the manifest names, the caller holds each
        (with ``held``; :mod:`cairn.core.possession`), and every entry claims its blob's size.

        In a write transaction (``s``) the blobs are also claimed: the blob-use lock keeps GC
        out until it commits, and GC's mark is cleared. A blob GC is deleting counts as
        absent.

        Raises:
            BlobNotFoundError: blobs not stored or not held (the same for both, so a commit
                tells nothing of other projects' blobs).
            SizeMismatchError: an entry's size differs from its blob's.
        """
        need = list(
            dict.fromkeys(stored_blob(e.digest, e.extra) for e in manifest if e.ref is None)
        )
        present: dict[str, int] = {}
        mine: set[str] | None = None

        def stored(q: Session, chunk: Sequence[str]) -> None:
            rows = q.execute(
                select(m.Blob.digest, m.Blob.size).where(
                    among(q, m.Blob.digest, chunk), m.Blob.deleting.is_(False)
                )
            )
            present.update((d, n) for d, n in rows)

        if s is None:
            with self.db.read() as r:
                for chunk in _chunks(need):
                    stored(r, chunk)
                if held:
                    mine = possession.held(r, self.principal, need)
        else:
            hold_blob_use(s)
            for chunk in _chunks(need):
                s.execute(
                    update(m.Blob)
                    .where(
                        among(s, m.Blob.digest, chunk),
                        m.Blob.condemned_at.is_not(None),
                        m.Blob.deleting.is_(False),
                    )
                    .values(condemned_at=None)
                    .execution_options(synchronize_session=False)
                )
                stored(s, chunk)
            if held:
                mine = possession.held(s, self.principal, need)
        missing = [d for d in need if d not in present or (mine is not None and d not in mine)]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise BlobNotFoundError(
                f"the manifest names {len(missing)} blob(s) the store does not hold: {shown}; "
                "upload them before committing",
                details={"missing": missing[:1000]},
            )
        commit_checks.check_sizes(manifest, present)

    def _latest(self, s: Session, collection_id: int) -> m.Version | None:
        """The newest committed version (``latest`` itself may be off it: see core/latest.py)."""
        return latest_alias.newest(s, collection_id)

    def _move_aliases(
        self, s: Session, collection_id: int, version_pk: int, aliases: Sequence[str]
    ) -> None:
        if not aliases:
            return
        history.alias_moves(s, self.principal, collection_id, version_pk, aliases)
        s.execute(
            delete(m.Alias).where(
                m.Alias.collection_id == collection_id, m.Alias.alias.in_(list(aliases))
            )
        )
        s.flush()
        for a in aliases:
            s.add(m.Alias(collection_id=collection_id, alias=a, version_id=version_pk))

    def _add_tags(
        self, s: Session, version_pk: int, tags: Sequence[str], before: Sequence[str] | None = None
    ) -> None:
        """Append ``tags`` to the version's; ``before`` is what it had before a replacement."""
        existing = list(
            s.scalars(
                select(m.Tag.tag).where(m.Tag.version_id == version_pk).order_by(m.Tag.position)
            )
        )
        after = existing + [t for t in dict.fromkeys(tags) if t not in existing]
        history.tags_changed(
            s, self.principal, version_pk, existing if before is None else before, after
        )
        pos = len(existing)
        for t in tags:
            if t not in existing:
                s.add(m.Tag(version_id=version_pk, tag=t, position=pos))
                pos += 1

    # -- reading versions --------------------------------------------------------------------
    def _project_of(self, s: Session, ver: m.Version) -> m.Project:
        coll = s.get_one(m.Collection, ver.collection_id)
        return s.get_one(m.Project, coll.project_id)

    def _visible_version(self, s: Session, version_id: str) -> m.Version:
        ver = s.scalar(select(m.Version).where(m.Version.public_id == version_id))
        if (
            ver is None
            or ver.state != COMMITTED
            or not (
                self._may(s, self._project_of(s, ver), "read")
                or _links.readable_through_portfolio(self, s, ver)
            )
        ):
            raise ArtifactNotFoundError(f"artifact version {version_id} not found")
        return ver

    def _version_record(self, s: Session, ver: m.Version, *, check: bool = False) -> VersionRecord:
        if check and not self._may(s, self._project_of(s, ver), "read"):
            raise ArtifactNotFoundError(f"artifact version {ver.public_id} not found")
        return catalog.version_records(s, [ver])[0]

    def get_version(self, version_id: str) -> VersionRecord:
        with self.db.read() as s:
            return self._version_record(s, self._visible_version(s, version_id))

    def resolve(self, entity: str, project: str, collection: str, alias: str) -> VersionRecord:
        """Find a version by ``latest``, ``vN`` or a custom alias (in a portfolio: a link).

        Raises:
            ArtifactNotFoundError: no such version, or one the caller may not read (alike).
        """
        project = registries.canonical_project(project)
        with self.db.read() as s:
            found = catalog.find_version(s, entity, project, collection, alias)
            if found is not None and permissions.allowed_in(
                self.principal, found.entity, found.visibility, "read"
            ):
                return found.record
            # Only a miss pays for telling which part was missing.
            label = f"{entity}/{project}/{collection}:{alias}"
            try:
                proj = self._readable_project(s, entity, project)
            except (ProjectNotFoundError, PermissionError):
                raise ArtifactNotFoundError(f"artifact {label} not found") from None
            coll = self._collection(s, proj, collection)
            if coll is None:
                raise ArtifactNotFoundError(
                    f"artifact {label} not found: no artifact named {collection!r} in "
                    f"{entity}/{project}"
                )
            if coll.kind == _links.PORTFOLIO:  # its versions are links, not rows of its own
                link = _links.resolve(s, coll, alias)
                if link is None:
                    raise ArtifactNotFoundError(f"artifact {label} not found")
                return _links.membership_record(self, s, link)
            raise ArtifactNotFoundError(f"artifact {label} not found")

    def _load_manifest(self, ver: m.Version) -> Manifest:
        return Manifest.from_bytes(self.manifest_bytes_for(ver.manifest_digest or ""))

    def manifest_bytes_for(self, manifest_digest: str) -> bytes:
        with self.open_blob(manifest_digest) as f:
            data: bytes = f.read()
        return data

    def get_manifest(self, version_id: str) -> tuple[str, bytes]:
        """(manifest digest, manifest JSON bytes) of a committed version."""
        with self.db.read() as s:
            ver = self._visible_version(s, version_id)
            digest = ver.manifest_digest or ""
        return digest, self.manifest_bytes_for(digest)

    def list_files(
        self,
        version_id: str,
        *,
        names: Sequence[str] | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a version's entries in path order, and the cursor for the next page."""
        limit = max(1, min(int(limit), 10_000))
        with self.db.read() as s:
            ver = self._visible_version(s, version_id)
            q = select(m.VersionFile).where(m.VersionFile.version_id == ver.id)
            if names is not None:
                q = q.where(among(s, m.VersionFile.path, list(names)))
            if after is not None:
                q = q.where(m.VersionFile.path > after)
            rows = s.scalars(q.order_by(m.VersionFile.path).limit(limit + 1)).all()
            page = [
                {
                    "path": r.path,
                    "digest": r.digest,
                    "size": r.size,
                    "ref": r.ref,
                    "birthArtifactID": r.birth_artifact_id,
                    "extra": r.extra or {},
                }
                for r in rows[:limit]
            ]
            cursor = rows[limit - 1].path if len(rows) > limit else None
            return page, cursor

    def list_versions(
        self,
        entity: str,
        project: str,
        collection: str,
        *,
        after_index: int | None = None,
        limit: int = 50,
        tags: Sequence[str] | None = None,
    ) -> tuple[list[VersionRecord], int | None]:
        limit = max(1, min(int(limit), 1000))
        project = registries.canonical_project(project)
        with self.db.read() as s:
            proj = self._readable_project(s, entity, project)
            coll = self._collection(s, proj, collection)
            if coll is None:
                raise CollectionNotFoundError(
                    f"no artifact named {collection!r} in {entity}/{project}"
                )
            if coll.kind == _links.PORTFOLIO:
                return _links.memberships(self, s, coll, after_index, limit, tags)
            page = catalog.version_page(
                s, coll.id, after_index=after_index, limit=limit + 1, tags=tags
            )
            nxt = page[limit - 1].index if len(page) > limit else None
            return page[:limit], nxt

    def get_collection(self, entity: str, project: str, name: str) -> CollectionRecord:
        project = registries.canonical_project(project)
        with self.db.read() as s:
            try:
                proj = self._readable_project(s, entity, project)
            except (ProjectNotFoundError, PermissionError):
                raise CollectionNotFoundError(
                    f"no artifact named {name!r} in {entity}/{project}"
                ) from None
            coll = self._collection(s, proj, name)
            rec = self._collection_record(s, coll, entity, project) if coll is not None else None
            if rec is None or not rec.version_count:
                raise CollectionNotFoundError(f"no artifact named {name!r} in {entity}/{project}")
            return rec

    def _collection_record(
        self, s: Session, coll: m.Collection, entity: str, project: str
    ) -> CollectionRecord:
        if coll.kind == _links.PORTFOLIO:
            return _links.portfolio_record(s, coll, entity, project)
        return catalog.collection_records(s, [coll], entity, project)[0]

    def list_collections(
        self,
        entity: str,
        project: str,
        type_name: str | None = None,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[CollectionRecord]:
        """Collections holding a committed version (or, a portfolio, a link), in name order
        (``after``/``limit``: a page)."""
        project = registries.canonical_project(project)
        with self.db.read() as s:
            proj = self._readable_project(s, entity, project)
            colls = catalog.committed_collections(s, proj.id, type_name, after=after, limit=limit)
            seqs = [c for c in colls if c.kind != _links.PORTFOLIO]
            records = dict(
                zip(seqs, catalog.collection_records(s, seqs, entity, project), strict=True)
            )
            return [
                records[c] if c in records else _links.portfolio_record(s, c, entity, project)
                for c in colls
            ]

    def list_types(self, entity: str, project: str) -> list[TypeRecord]:
        counts: dict[str, int] = {}
        for c in self.list_collections(entity, project):
            counts[c.type] = counts.get(c.type, 0) + 1
        return [TypeRecord(name=t, collection_count=n) for t, n in sorted(counts.items())]

    # -- changing committed versions -----------------------------------------------------------
    def update_version(self, version_id: str, change: VersionUpdate) -> VersionRecord:
        """Persist description, metadata, aliases (the full custom set), tags, and whether
        ``latest`` stays on the version (see :mod:`cairn.core.latest`)."""
        description = naming.check_description(change.description)
        metadata = naming.clean_metadata(change.metadata) if change.metadata is not None else None
        aliases = naming.clean_aliases(change.aliases) if change.aliases is not None else None
        tags = naming.clean_tags(change.tags) if change.tags is not None else None
        with self.db.write() as s:
            ver = self._visible_version(s, version_id)
            self._check(s, self._project_of(s, ver), "write", "this artifact")
            if change.ttl_seconds is not None:
                _ttl.set_ttl(ver, change.ttl_seconds, s, self.principal)
            if description is not None or change.clear_description:
                ver.description = description
            if metadata is not None:
                ver.metadata_ = metadata
            history.fields_changed(s, self.principal, ver)
            if aliases is not None:
                history.aliases_removed(s, self.principal, ver, keep=aliases)
                s.execute(
                    delete(m.Alias).where(
                        m.Alias.version_id == ver.id,
                        m.Alias.alias.not_in(aliases),
                        latest_alias.user_aliases(),
                    )
                )
                current = set(s.scalars(select(m.Alias.alias).where(m.Alias.version_id == ver.id)))
                self._move_aliases(
                    s, ver.collection_id, ver.id, [a for a in aliases if a not in current]
                )
            if tags is not None:
                before = s.scalars(select(m.Tag.tag).where(m.Tag.version_id == ver.id)).all()
                s.execute(delete(m.Tag).where(m.Tag.version_id == ver.id))
                s.flush()
                self._add_tags(s, ver.id, tags, before=before)
            if change.latest is not None:
                latest_alias.set_on(s, ver, change.latest)
            ver.updated_at = m.utcnow()
            s.flush()
            return self._version_record(s, ver)

    def delete_version(
        self, version_id: str, *, delete_aliases: bool = False, delete_links: bool = False
    ) -> None:
        """Soft-delete a version: it disappears, its index is never reused, GC frees its blobs.

        Raises:
            AliasInUseError: custom aliases point at it (unless ``delete_aliases``).
            VersionLinkedError: it is linked into portfolios (unless ``delete_links``, which
                removes those memberships too).
        """
        with self.db.write() as s:
            ver = self._visible_version(s, version_id)
            self._check(s, self._project_of(s, ver), "write", "this artifact")
            linked = _links.link_names(s, ver.id)
            if linked and not delete_links:
                raise VersionLinkedError(
                    f"version is linked into {', '.join(linked)}; unlink it first or pass "
                    "delete_links=True",
                    details={"links": linked},
                )
            custom = s.scalars(
                select(m.Alias.alias).where(
                    m.Alias.version_id == ver.id, latest_alias.user_aliases()
                )
            ).all()
            if custom and not delete_aliases:
                raise AliasInUseError(
                    f"version has aliases {sorted(custom)}; remove them first or pass "
                    "delete_aliases=True",
                    details={"aliases": sorted(custom)},
                )
            history.version_deleted(s, self.principal, ver)
            deletion.retire(s, ver)

    # -- portfolios, registries, collections and TTL (rules in cairn.core.links/registries/ttl) --
    def link_version(
        self, version_id: str, entity: str, project: str, portfolio: str, aliases: Sequence[str]
    ) -> VersionRecord:
        return _links.link_version(self, version_id, entity, project, portfolio, aliases)

    def unlink_version(self, link_id: str) -> None:
        _links.unlink(self, link_id)

    def set_link_aliases(self, link_id: str, aliases: Sequence[str]) -> VersionRecord:
        return _links.set_link_aliases(self, link_id, aliases)

    def version_links(self, version_id: str) -> list[VersionRecord]:
        return _links.links_of(self, version_id)

    def update_collection(
        self,
        entity: str,
        project: str,
        name: str,
        *,
        description: str | None,
        tags: Sequence[str] | None,
    ) -> CollectionRecord:
        return _links.update_collection(self, entity, project, name, description, tags)

    def delete_collection(self, entity: str, project: str, name: str) -> None:
        _links.delete_collection(self, entity, project, name)

    def list_registries(self, entity: str | None = None) -> list[RegistryRecord]:
        return registries.list_registries(self, entity)

    def expire_versions(self, *, dry_run: bool = False) -> list[VersionRecord]:
        return _ttl.expire(self, dry_run=dry_run)

    def set_default_ttl(self, entity: str, seconds: int | None) -> None:
        _ttl.set_default_ttl(self, entity, seconds)

    def get_default_ttl(self, entity: str) -> int | None:
        return _ttl.get_default_ttl(self, entity)

    # -- garbage collection ----------------------------------------------------------------------
    def reclaim_storage(
        self,
        *,
        grace: timedelta = timedelta(hours=24),
        repack_below: float = 0.5,
        orphans_older_than: timedelta = timedelta(hours=1),
    ) -> StorageReport:
        """Free the space of blobs no version uses and of dead bytes in packs (:mod:`.gc`).

        Blobs are shared by every project, so only a superuser (the embedded store's user, a
        server admin) may do this.

        Raises:
            PermissionDeniedError: the caller is not a superuser.
            ValidationError: a negative grace, or ``repack_below`` outside 0..1.
        """
        if not self.principal.is_superuser:
            raise PermissionDeniedError(
                "reclaiming storage touches every project's blobs: only a server admin may"
            )
        from cairn.core.gc import Reclaimer

        return Reclaimer(self.db, self.blobs, self.packs).run(
            grace=grace, repack_below=repack_below, orphans_older_than=orphans_older_than
        )

    def collect_garbage(self, *, pending_older_than: timedelta = timedelta(hours=24)) -> int:
        """Drop PENDING versions abandoned for longer than ``pending_older_than``.

        Their uploaded blobs stay: reclaiming unreferenced blobs safely while other clients
        may be re-uploading them needs a two-phase sweep that is not built yet.
        """
        cutoff = datetime.now(UTC) - pending_older_than
        with self.db.write() as s:
            q = select(m.Version.id).where(
                m.Version.state == PENDING, m.Version.updated_at < cutoff
            )
            if not self.principal.is_superuser:  # others only where they may write
                writable = [
                    e
                    for e, r in self.principal.roles.items()
                    if ROLE_RANK[r] >= ROLE_RANK["member"]
                ]
                q = (
                    q.join(m.Collection, m.Collection.id == m.Version.collection_id)
                    .join(m.Project, m.Project.id == m.Collection.project_id)
                    .join(m.Entity, m.Entity.id == m.Project.entity_id)
                    .where(m.Entity.name.in_(writable))
                )
            stale = s.scalars(q).all()
            if stale:
                s.execute(delete(m.Version).where(among(s, m.Version.id, list(stale))))
        return len(stale)

"""The commit protocol: begin a PENDING version, add entries, commit or abort it.

See :mod:`cairn.core.service` for the steps and what a crash anywhere leaves behind.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from typing import IO, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cairn import naming
from cairn.core import (
    commit_checks,
    commit_tokens,
    history,
    possession,
)
from cairn.core import latest as latest_alias
from cairn.core import links as _links
from cairn.core import ttl as _ttl
from cairn.core.db import models as m
from cairn.core.db.bulk import among
from cairn.core.db.bulk import bulk_insert as _bulk_insert
from cairn.core.db.bulk import chunks as _chunks
from cairn.core.db.locks import hold_blob_use
from cairn.core.services.scope import Scope
from cairn.errors import (
    BlobNotFoundError,
    ConflictError,
    EntryConflictError,
    RunNotFoundError,
    TypeConflictError,
    ValidationError,
)
from cairn.faults import fault_point
from cairn.manifest import Manifest, ManifestEntry
from cairn.manifest.digest import stored_blob
from cairn.records import (
    COMMITTED,
    PENDING,
    VersionRecord,
    VersionSpec,
)


def new_version_id() -> str:
    return secrets.token_hex(12)


def _stored_blobs_of(manifest: Manifest) -> list[str]:
    """The store names of a manifest's stored (not referenced) entries, each once."""
    return list(dict.fromkeys(stored_blob(e.digest, e.extra) for e in manifest if e.ref is None))


def _unmark(s: Session, digests: Sequence[str]) -> None:
    """Clear GC's mark on ``digests`` (in a write transaction holding the blob-use lock)."""
    s.execute(
        update(m.Blob)
        .where(
            among(s, m.Blob.digest, digests),
            m.Blob.condemned_at.is_not(None),
            m.Blob.deleting.is_(False),
        )
        .values(condemned_at=None)
        .execution_options(synchronize_session=False)
    )


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


class Versions(Scope):
    """The commit protocol: PENDING versions, entries, and commits (module docstring of
    :mod:`cairn.core.service`)."""

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
            self._claim_blobs(final, s)  # as a commit does (checked just above)
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
            # content as the latest version is answered from the database alone. Checked
            # here, before the manifest is stored, so a refused commit writes nothing.
            self._check_blobs_present(final, held=held)
            manifest_digest = self._store_manifest(final)

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
            else:
                self._claim_blobs(final, s)  # checked before the manifest was stored
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

    def _claim_blobs(self, manifest: Manifest, s: Session) -> None:
        """Claim from GC, in the write transaction ``s``, the blobs of a manifest that
        :meth:`_check_blobs_present` passed a moment ago.

        Counts what is still stored rather than fetching every row (a fifth of a 20,000-file
        commit): only GC can have taken a blob since, and then the full check says which.
        """
        need = _stored_blobs_of(manifest)
        hold_blob_use(s)
        still = 0
        for chunk in _chunks(need):
            _unmark(s, chunk)
            still += s.execute(
                select(func.count())
                .select_from(m.Blob)
                .where(among(s, m.Blob.digest, chunk), m.Blob.deleting.is_(False))
            ).scalar_one()
        if still != len(need):
            self._check_blobs_present(manifest, s, held=False)  # raises, naming them

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
        need = _stored_blobs_of(manifest)
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
                _unmark(s, chunk)
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

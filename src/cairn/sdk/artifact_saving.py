"""Logging a draft, saving edits of a version, and what follows: links, lineage, history.

Logging runs the commit protocol through the run's backend (see docs/architecture.md); the
artifact then describes the committed version. The functions here are methods of
:class:`~cairn.sdk.artifact.Artifact`.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from cairn import naming
from cairn.cache.staging import packs_for
from cairn.errors import (
    ArtifactNotLoggedError,
    BlobNotFoundError,
    CairnError,
    ValidationError,
)
from cairn.faults import fault_point
from cairn.records import (
    DELETED,
    VersionSpec,
    VersionUpdate,
)
from cairn.sdk import context, linking, transfer
from cairn.sdk.lineage import LineageGraph

if TYPE_CHECKING:
    from cairn.records import HistoryEvent
    from cairn.sdk.artifact import Artifact
    from cairn.sdk.run import Run


def _prepare_log(
    self: Artifact,
    run: Run,
    aliases: Sequence[str] | None,
    tags: Sequence[str] | None,
    distributed_id: str | None = None,
) -> tuple[str, list[str], list[str]]:
    """Check everything and open the PENDING version, in the caller's thread.

    Bad input and conflicts (a collection of another type) are raised here, at the call,
    before anything runs in the background. Returns (version id, aliases, tags).
    A logged version is logged again (its manifest, in its own project), which resolves to
    that same version, as in W&B.
    """
    if self._record is not None and distributed_id is None:
        r = self._record
        if (r.entity, r.project) != (run.entity, run.project):
            raise ValidationError(
                f"artifact {self.qualified_name} belongs to {r.entity}/{r.project}; it "
                f"cannot be logged to {run.entity}/{run.project}"
            )
    else:
        self._ensure_draft("log_artifact")
    # Only the given ones: a draft has none of its own (the setters need a logged version)
    # and a logged version keeps those it has.
    all_aliases = naming.clean_aliases(aliases)
    all_tags = naming.clean_tags(tags)
    metadata = naming.clean_metadata(self._metadata)
    version_id = run._backend.begin_version(
        VersionSpec(
            entity=run.entity,
            project=run.project,
            collection=self._name,
            type=self._type,
            description=self._description,
            metadata=metadata,
            run_id=run.id,
            distributed_id=distributed_id,
            incremental=self._incremental,
            ttl_seconds=self._ttl_wire(),
        )
    )
    fault_point("log.after_begin")
    self._final = True
    return version_id, all_aliases, all_tags


def _upload_and_commit(
    self: Artifact, run: Run, version_id: str, aliases: list[str], tags: list[str]
) -> None:
    backend, settings = run._backend, run._settings
    manifest = self._manifest
    assert manifest is not None
    # What this process staged is synced and memoised now, so an unchanged re-log from
    # another process reads nothing (see cairn.cache.staging).
    cache = context.cache_for(settings)
    packs_for(cache.root).settle(cache.memo, force=True)
    try:
        # The same content as the latest version: that version is the answer, and saying
        # so takes one digest, with no blob or manifest sent. (If another version was
        # committed meanwhile, the answer is None and the version is committed as usual.)
        record = None
        if not self._incremental:
            record = backend.commit_if_unchanged(
                version_id, manifest.digest(), aliases=aliases, tags=tags
            )
        attempt = 0
        while record is None:
            attempt += 1
            try:
                transfer.upload_missing(
                    manifest,
                    backend,
                    context.cache_for(settings),
                    self._staged,
                    silent=settings.silent,
                )
                fault_point("log.before_commit")
                record = backend.commit_version(version_id, manifest, aliases=aliases, tags=tags)
            except BlobNotFoundError:
                # The store's GC took a blob nothing used between our question and the
                # commit (see cairn.core.gc): asking again sends it again, once.
                if attempt == 2:
                    raise
    except BaseException:
        with contextlib.suppress(CairnError):
            backend.abort_version(version_id)
        if self._record is None:  # nothing committed: the draft can be fixed and logged again
            self._final = False
        raise
    self._bind(record, backend, settings)
    self._cleanup_staging()


def _log(
    self: Artifact,
    run: Run,
    aliases: Sequence[str] | None,
    tags: Sequence[str] | None,
    *,
    background: bool = False,
) -> None:
    """Commit this draft as a version in the run's project (see docs/architecture.md).

    With ``background``, uploading and committing run in the run's worker thread and this
    returns at once; ``wait()`` (or any attribute of the logged version) blocks until done.
    """
    if self._logging is not None:
        self.wait()  # logged again while the first log runs: that version is the answer
    if self._record is not None:
        self._loaded_manifest()  # a fetched version: its manifest is what is logged again
    version_id, all_aliases, all_tags = self._prepare_log(run, aliases, tags)
    if background:
        self._logging = run._submit(self._upload_and_commit, run, version_id, all_aliases, all_tags)
    else:
        self._upload_and_commit(run, version_id, all_aliases, all_tags)


def _upsert(
    self: Artifact, run: Run, distributed_id: str, aliases: Sequence[str] | None, *, finish: bool
) -> None:
    """Add this draft's entries to the version shared by ``distributed_id``; maybe commit."""
    version_id, all_aliases, all_tags = self._prepare_log(run, aliases, None, distributed_id)
    backend, settings = run._backend, run._settings
    manifest = self._manifest
    assert manifest is not None
    cache = context.cache_for(settings)
    packs_for(cache.root).settle(cache.memo, force=True)  # as in _upload_and_commit
    try:
        transfer.upload_missing(
            manifest, backend, context.cache_for(settings), self._staged, silent=settings.silent
        )
        if len(manifest):
            backend.add_entries(version_id, manifest)
        if not finish:
            self._pending_id = version_id
            return
        record = backend.commit_version(version_id, None, aliases=all_aliases, tags=all_tags)
        if self._description is not None or self._metadata:
            merged = {**record.metadata, **naming.clean_metadata(self._metadata)}
            record = backend.update_version(
                record.id, VersionUpdate(description=self._description, metadata=merged)
            )
    except BaseException:
        self._final = False
        raise
    finally:
        self._cleanup_staging()
    self._bind(record, backend, settings)


def _cleanup_staging(self: Artifact) -> None:
    if self._tmp_dir is not None:
        shutil.rmtree(self._tmp_dir, ignore_errors=True)
        self._tmp_dir = None
    self._staged.clear()


def wait(self: Artifact, timeout: int | None = None) -> Artifact:
    """Block until a background log has committed; re-raise its error if it failed.

    Raises TimeoutError if ``timeout`` seconds pass first, and ArtifactNotLoggedError on a
    draft that was never logged (there is nothing to wait for, as in W&B).
    """
    logging = self._logging
    if logging is None and self._record is None:
        raise ArtifactNotLoggedError("wait")
    if logging is not None:
        try:
            logging.result(timeout=timeout)
        except FutureTimeout:
            raise TimeoutError(
                f"artifact {self._name} is still being logged after {timeout} s"
            ) from None
        except BaseException:
            self._log_error_reported = True  # the caller has it; run.finish() won't re-raise
            raise
        finally:
            if logging.done():
                self._logging = None
    return self


def save(self: Artifact, project: str | None = None, settings: Any = None) -> None:
    """Log a draft (in the current run, or an automatic run), or persist edits of a version."""
    if self._record is None:
        from cairn.sdk import run as run_mod

        current = run_mod.current_run()
        if current is not None:
            current.log_artifact(self)
            return
        with run_mod.init(project=project, job_type="auto") as auto:
            auto.log_artifact(self)
        return
    assert self._backend is not None
    aliases = tuple(naming.clean_aliases(self._aliases))
    record = self._record
    # `latest` is sent only when it was added or removed, as the spec's example does.
    had_latest, has_latest = "latest" in record.aliases, "latest" in self._aliases
    change = VersionUpdate(
        description=self._description,
        clear_description=self._description is None,
        metadata=naming.clean_metadata(self._metadata),
        aliases=None if record.is_link else aliases,
        tags=tuple(naming.clean_tags(self._tags)),
        ttl_seconds=self._ttl_wire() if self._ttl_changed else None,
        latest=None if record.is_link or has_latest == had_latest else has_latest,
    )
    # A linked artifact's aliases are its portfolio's and the rest is the source's: the
    # source is written only if that changed (a registry member may not write it).
    if not record.is_link or (
        (change.description, change.metadata, change.tags)
        != (record.description, record.metadata, record.tags)
    ):
        record = self._backend.update_version(record.id, change)
    if self._record.link_id is not None:
        record = self._backend.set_link_aliases(self._record.link_id, aliases)
    assert self._settings is not None
    manifest = self._manifest
    self._bind(record, self._backend, self._settings)
    self._manifest = manifest


def delete(self: Artifact, delete_aliases: bool = False, *, delete_links: bool = False) -> None:
    """Delete this version; on a linked artifact, only the link (the source stays).

    Raises AliasInUseError while custom aliases point at it (unless ``delete_aliases``),
    and VersionLinkedError, naming the portfolios, while it is linked (unless
    ``delete_links``, which removes those memberships too).
    """
    record = self._ensure_logged("delete")
    assert self._backend is not None
    if record.link_id is not None:
        self._backend.unlink_version(record.link_id)
    else:
        self._backend.delete_version(
            record.id, delete_aliases=delete_aliases, delete_links=delete_links
        )
    from dataclasses import replace

    self._record = replace(record, state=DELETED, aliases=())
    self._aliases = []


def new_draft(self: Artifact) -> Artifact:
    """A draft with this version's files, description and metadata, for the next version."""
    self._ensure_logged("new_draft")
    draft = type(self)(
        self._name, self._type, description=self._description, metadata=dict(self._metadata)
    )
    draft._add_entries(list(self._loaded_manifest()), overwrite=False)
    return draft


def link(self: Artifact, target_path: str, aliases: Sequence[str] | None = None) -> Artifact:
    """Link this version into a portfolio or registry and return it as linked there.

    ``target_path``: ``portfolio``, ``project/portfolio``, ``entity/project/portfolio``,
    ``[entity/]model-registry/name`` or ``[entity/]wandb-registry-NAME/collection``; a
    missing entity or project is this version's. Linking a linked artifact links its
    source. A version already in the portfolio keeps its one membership; ``aliases``
    (the portfolio's) are applied either way.

    Raises ArtifactNotLoggedError (a draft), ValidationError (a bad path or alias),
    ConflictError (the target is a sequence), TypeConflictError (the portfolio holds
    another type), PermissionDeniedError (no write access to the target).
    """
    record = self._ensure_logged("link")
    assert self._backend is not None and self._settings is not None
    target = linking.parse_target(target_path, self.source_entity, self.source_project)
    linked = self._backend.link_version(
        record.id,
        target.entity,
        target.project,
        target.portfolio,
        naming.clean_aliases(aliases),
    )
    return type(self)._from_record(linked, self._backend, self._settings)


def unlink(self: Artifact) -> None:
    """Remove this membership from its portfolio (the source version stays).

    Raises ArtifactNotLoggedError (a draft) and ValidationError, a ValueError, when this
    artifact is not linked (use ``delete()`` for a logged version).
    """
    record = self._ensure_logged("unlink")
    if record.link_id is None:
        raise ValidationError(
            f"artifact {self.qualified_name!r} is not a linked artifact and cannot be "
            "unlinked; to delete it, use delete()"
        )
    assert self._backend is not None
    self._backend.unlink_version(record.link_id)
    from dataclasses import replace

    self._record = replace(record, state=DELETED, aliases=())
    self._aliases = []


def linked_artifacts(self: Artifact) -> list[Artifact]:
    """This version as each portfolio it is linked into holds it (empty for a link)."""
    record = self._ensure_logged("linked_artifacts")
    if record.is_link:
        return []
    assert self._backend is not None and self._settings is not None
    return [
        type(self)._from_record(r, self._backend, self._settings)
        for r in self._backend.version_links(record.id)
    ]


def source_artifact(self: Artifact) -> Artifact:
    """The logged version a linked artifact stands for (itself when not a link)."""
    record = self._ensure_logged("source_artifact")
    if not record.is_link:
        return self
    assert self._backend is not None and self._settings is not None
    assert record.source_entity and record.source_project and record.source_collection
    source = self._backend.resolve(
        record.source_entity,
        record.source_project,
        record.source_collection,
        f"v{record.source_index}",
    )
    return type(self)._from_record(source, self._backend, self._settings)


def logged_by(self: Artifact) -> Run | None:
    record = self._ensure_logged("logged_by")
    assert self._backend is not None and self._settings is not None
    from cairn.sdk.run import Run

    producer = self._backend.version_producer(record.id)
    return Run._from_record(producer, self._backend, self._settings) if producer else None


def used_by(self: Artifact) -> list[Run]:
    record = self._ensure_logged("used_by")
    assert self._backend is not None and self._settings is not None
    from cairn.sdk.run import Run

    return [
        Run._from_record(r, self._backend, self._settings)
        for r in self._backend.version_consumers(record.id)
    ]


def lineage(self: Artifact, direction: str = "both", depth: int = 10) -> LineageGraph:
    """The runs and versions this version came from (``"upstream"``), became
    (``"downstream"``) or both, up to ``depth`` edges away (1 to 1000): a
    :class:`~cairn.sdk.lineage.LineageGraph`. Raises :class:`ValueError` for another
    direction or depth."""
    record = self._ensure_logged("lineage")
    assert self._backend is not None
    graph = self._backend.version_lineage(record.id, direction=direction, depth=depth)
    return LineageGraph._from_record(graph)


def history(self: Artifact, per_page: int = 100) -> list[HistoryEvent]:
    """Every recorded change to this version, oldest first: alias moves (``latest``
    too), tag, description and metadata edits — who, when, before and after."""
    record = self._ensure_logged("history")
    assert self._backend is not None
    events: list[HistoryEvent] = []
    after: int | None = None
    while True:
        page, after = self._backend.version_history(record.id, after=after, limit=per_page)
        events += page
        if after is None:
            return events


def json_encode(self: Artifact) -> dict[str, Any]:
    record = self._ensure_logged("json_encode")
    return {
        "_type": "artifactVersion",
        "_version": "v0",
        "id": record.id,
        "version": record.version,
        "sequenceName": record.collection,
        "usedAs": self._use_as,
    }

"""Runs: the unit of lineage. A run logs (produces) and uses (consumes) artifact versions.

``cairn.init()`` starts a run and makes it the current one (``cairn.run``); leaving its ``with``
block, or ``finish()``, ends it. Runs fetched through the Api or ``logged_by()``/``used_by()``
are the same class, read-only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from cairn import naming
from cairn.backend.base import Backend
from cairn.config import Settings
from cairn.errors import ArtifactLogError, NotImplementedFeatureError, ValidationError
from cairn.records import RunRecord
from cairn.sdk import context
from cairn.sdk.artifact import Artifact
from cairn.sdk.fields import record_field
from cairn.sdk.lineage import LineageGraph

_current: Run | None = None
_lock = threading.Lock()


def current_run() -> Run | None:
    return _current


class Run:
    """A run in a project: ``log_artifact`` records outputs, ``use_artifact`` inputs."""

    def __init__(
        self, record: RunRecord, backend: Backend, settings: Settings, *, active: bool
    ) -> None:
        self._record = record
        self._backend = backend
        self._settings = settings
        self._active = active
        self.config: dict[str, Any] = dict(record.config)
        # One worker: background logs of a run commit in the order they were made.
        self._worker: ThreadPoolExecutor | None = None
        self._pending: list[tuple[Artifact, Future[None]]] = []

    def _submit(self, fn: Callable[..., None], *args: Any) -> Future[None]:
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"cairn-log-{self.id}")
        return self._worker.submit(fn, *args)

    @classmethod
    def _from_record(cls, record: RunRecord, backend: Backend, settings: Settings) -> Run:
        return cls(record, backend, settings, active=False)

    # -- attributes (read from the run's record) -------------------------------------------
    id: record_field[str] = record_field()
    name: record_field[str] = record_field()
    entity: record_field[str] = record_field()
    project: record_field[str] = record_field()
    job_type: record_field[str | None] = record_field()
    group: record_field[str | None] = record_field()
    path: record_field[str] = record_field()
    state: record_field[str] = record_field()
    created_at: record_field[datetime] = record_field()

    def _ensure_active(self, operation: str) -> None:
        if not self._active:
            raise ValidationError(f"cannot {operation}: run {self.path} is finished")

    # -- artifacts ---------------------------------------------------------------------------------
    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Artifact:
        """Log an artifact (or a file, folder or URI) as an output of this run."""
        self._ensure_active("log_artifact")
        artifact = self._as_artifact(artifact_or_path, name, type)
        artifact._log(self, aliases, tags, background=True)
        if artifact._logging is not None:
            self._pending.append((artifact, artifact._logging))
        return artifact

    def _as_artifact(
        self, obj: Artifact | str | os.PathLike[str], name: str | None, type: str | None
    ) -> Artifact:
        if isinstance(obj, Artifact):
            return obj
        if not isinstance(obj, (str, os.PathLike)):
            raise ValidationError(f"log_artifact takes an Artifact or a path, got {obj!r}")
        raw = os.fspath(obj)
        if "://" in raw:
            art = Artifact(
                name or f"run-{self.id}-{Path(raw.rstrip('/')).name}", type or "unspecified"
            )
            art.add_reference(raw)
            return art
        base = Path(raw).name or "artifact"
        art = Artifact(name or f"run-{self.id}-{base}", type or "unspecified")
        if os.path.isdir(raw):
            art.add_dir(raw)
        else:
            art.add_file(raw)
        return art

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
        use_as: str | None = None,
    ) -> Artifact:
        """Record an artifact as an input of this run, and return it (logged)."""
        self._ensure_active("use_artifact")
        if isinstance(artifact_or_name, Artifact):
            art = artifact_or_name
            if art.is_draft():
                # An unlogged draft is logged first; same content → the same version.
                art._log(self, aliases, None)
            art.wait()
        elif isinstance(artifact_or_name, str):
            from cairn.sdk.api import resolve_path

            art = resolve_path(
                self._backend,
                self._settings,
                artifact_or_name,
                default_entity=self.entity,
                default_project=self.project,
            )
        else:
            raise ValidationError(
                f"use_artifact takes an Artifact or a name, got {artifact_or_name!r}"
            )
        if type is not None and art.type != type:
            raise ValidationError(
                f"artifact {art.qualified_name} has type {art.type!r}, not {type!r}"
            )
        if use_as is not None:
            art._use_as = use_as
        assert art.id is not None
        self._backend.use_version(self.entity, self.project, self.id, art.id, use_as)
        return art

    def _distributed_id(self, distributed_id: str | None, operation: str) -> str:
        did = distributed_id or self.group
        if not did:
            raise TypeError(
                f"{operation} needs a distributed_id, or a run started with init(group=...): "
                "every writer of one version must share it"
            )
        return did

    def upsert_artifact(
        self,
        artifact: Artifact,
        distributed_id: str | None = None,
        aliases: Sequence[str] | None = None,
    ) -> Artifact:
        """Add the artifact's files to the PENDING version shared by ``distributed_id``.

        Writers may be other processes or machines; ``distributed_id`` defaults to the run's
        group. A path another writer added with different content raises EntryConflictError
        (theirs is kept). Nothing is visible until ``finish_artifact``.
        """
        self._ensure_active("upsert_artifact")
        artifact._upsert(
            self, self._distributed_id(distributed_id, "upsert_artifact"), aliases, finish=False
        )
        return artifact

    def finish_artifact(
        self,
        artifact: Artifact,
        distributed_id: str | None = None,
        aliases: Sequence[str] | None = None,
    ) -> Artifact:
        """Add the artifact's own files, then commit the shared version for every writer.

        Later upserts with the same ``distributed_id`` start a new version.
        """
        self._ensure_active("finish_artifact")
        artifact._upsert(
            self, self._distributed_id(distributed_id, "finish_artifact"), aliases, finish=True
        )
        return artifact

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> None:
        raise NotImplementedFeatureError("linking artifacts to portfolios is not supported yet")

    def logged_artifacts(self) -> list[Artifact]:
        return [
            Artifact._from_record(r, self._backend, self._settings)
            for r in self._backend.run_versions(self.entity, self.project, self.id, used=False)
        ]

    def used_artifacts(self) -> list[Artifact]:
        return [
            Artifact._from_record(r, self._backend, self._settings)
            for r in self._backend.run_versions(self.entity, self.project, self.id, used=True)
        ]

    def lineage(self, direction: str = "both", depth: int = 10) -> LineageGraph:
        """The versions and runs this run came from (``"upstream"``: what it used, and what
        made those), led to (``"downstream"``: what it logged, and who used those) or both, up
        to ``depth`` edges away (1 to 1000). Artifacts still logging in the background are
        not in it yet (``artifact.wait()`` first). Raises :class:`ValueError` for another
        direction or depth."""
        graph = self._backend.run_lineage(
            self.entity, self.project, self.id, direction=direction, depth=depth
        )
        return LineageGraph._from_record(graph)

    # -- lifecycle ---------------------------------------------------------------------------------
    def finish(self, exit_code: int | None = None) -> None:
        """End the run after its background logs have finished.

        ``exit_code`` other than 0 marks it failed. Raises ArtifactLogError (naming each
        artifact and its error) if any background log failed.
        """
        global _current
        if not self._active:
            return
        self._active = False
        failures = []
        failed = False
        for art, fut in self._pending:
            try:
                fut.result()
            except Exception as exc:  # noqa: BLE001 - each failure is reported below
                failed = True
                if not art._log_error_reported:  # not already raised to the caller by wait()
                    failures.append(f"{art._name}: {type(exc).__name__}: {exc}")
        self._pending.clear()
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None
        state = "finished" if not exit_code and not failed else "failed"
        self._backend.finish_run(self.entity, self.project, self.id, state)
        with _lock:
            if _current is self:
                _current = None
        if failures:
            raise ArtifactLogError(
                f"{len(failures)} artifact log(s) of run {self.path} failed:\n  "
                + "\n  ".join(failures),
                details={"failures": failures},
            )

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish(exit_code=0)
            return
        # Already failing: finish, but do not let a log failure hide the original error.
        with contextlib.suppress(ArtifactLogError):
            self.finish(exit_code=1)

    def __repr__(self) -> str:
        return f"<Run {self.path} ({self.name}, {'running' if self._active else self.state})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


def init(
    project: str | None = None,
    entity: str | None = None,
    name: str | None = None,
    job_type: str | None = None,
    group: str | None = None,
    config: dict[str, Any] | None = None,
    id: str | None = None,
    reinit: bool | None = None,
    settings: Settings | None = None,
) -> Run:
    """Start a run and make it the current one.

    ``project`` defaults to ``CAIRN_PROJECT`` or ``uncategorized``; ``entity`` to
    ``CAIRN_ENTITY`` or the store's default (your user). A run already current is finished
    first, as with W&B's ``reinit``.
    """
    global _current
    resolved = settings if isinstance(settings, Settings) else context.settings()
    backend = context.backend_for(resolved)
    entity = entity or resolved.entity or backend.default_entity()
    project = project or resolved.project or naming.DEFAULT_PROJECT
    naming.check_name(entity, "entity name")
    naming.check_name(project, "project name")
    if config is not None and not isinstance(config, dict):
        config = dict(vars(config)) if hasattr(config, "__dict__") else dict(config)
    record = backend.create_run(
        entity, project, run_id=id, name=name, job_type=job_type, group=group, config=config
    )
    run = Run(record, backend, resolved, active=True)
    with _lock:
        previous = _current
    if previous is not None:
        previous.finish()
    with _lock:
        _current = run
    _register_exit_hook()
    return run


_hooked = False


def _register_exit_hook() -> None:
    """At normal interpreter exit, finish the current run so no pending log is lost."""
    global _hooked
    if _hooked:
        return
    _hooked = True

    def _at_exit() -> None:
        run = _current
        if run is not None:
            try:
                run.finish()
            except ArtifactLogError as exc:
                print(f"cairn: {exc}", file=sys.stderr)

    atexit.register(_at_exit)


def finish(exit_code: int | None = None) -> None:
    """Finish the current run, if any."""
    if _current is not None:
        _current.finish(exit_code)


def _require_run(operation: str) -> Run:
    if _current is None:
        raise ValidationError(f"cairn.{operation}() needs a run: call cairn.init() first")
    return _current


def log_artifact(
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> Artifact:
    """``log_artifact`` on the current run."""
    return _require_run("log_artifact").log_artifact(
        artifact_or_path, name=name, type=type, aliases=aliases, tags=tags
    )


def use_artifact(
    artifact_or_name: Artifact | str,
    type: str | None = None,
    aliases: Sequence[str] | None = None,
    use_as: str | None = None,
) -> Artifact:
    """``use_artifact`` on the current run."""
    return _require_run("use_artifact").use_artifact(
        artifact_or_name, type=type, aliases=aliases, use_as=use_as
    )

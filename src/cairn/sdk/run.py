"""Runs: the unit of lineage, and the record of a training script.

A run logs (produces) and uses (consumes) artifact versions, and keeps what the script logs:
history rows (``run.log``), a summary, a config, tags, notes and how it ended.
``cairn.init()`` (:mod:`cairn.sdk.init`) starts a run and makes it the current one
(``cairn.run``); leaving its ``with`` block, or ``finish()``, ends it. Runs fetched through the
Api or ``logged_by()``/``used_by()`` are the same class, read-only.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from cairn.backend.base import Backend
from cairn.config import Settings
from cairn.errors import (
    ArtifactLogError,
    CairnError,
    ValidationError,
)
from cairn.naming import ArtifactPath
from cairn.records import RunRecord, RunUpdate
from cairn.sdk.artifact import Artifact
from cairn.sdk.fields import record_field
from cairn.sdk.history import History
from cairn.sdk.lineage import LineageGraph
from cairn.sdk.run_values import Config, Summary

_current: Run | None = None
# Every unfinished run of this process, oldest first (``reinit="create_new"`` makes several).
_active: list[Run] = []
_lock = threading.Lock()


def current_run() -> Run | None:
    return _current


def most_recent_active_run() -> Run | None:
    with _lock:
        return _active[-1] if _active else None


def _activate(run: Run, *, make_current: bool) -> None:
    global _current
    with _lock:
        _active.append(run)
        if make_current:
            _current = run


def _deactivate(run: Run) -> None:
    global _current
    with _lock:
        if run in _active:
            _active.remove(run)
        if _current is run:
            _current = None


def finish_all_active_runs() -> None:
    with _lock:
        runs = list(_active)
    for r in reversed(runs):
        r.finish()


class _NoBackend:
    """What a disabled run holds instead of a backend: every call is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"a disabled run reached its backend ({name})")


class Run:
    """A run in a project: ``log_artifact`` records outputs, ``use_artifact`` inputs, ``log``
    metrics."""

    def __init__(
        self,
        record: RunRecord,
        backend: Backend,
        settings: Settings,
        *,
        active: bool,
        disabled: bool = False,
        dir: str | None = None,
        resumed: bool = False,
    ) -> None:
        self._record = record
        self._backend = backend
        self._settings = settings
        self._active = active
        self._disabled = disabled
        self._dir = dir
        self.resumed = resumed  # W&B's: this init() continued a run that existed
        self._tags = tuple(record.tags)
        self._notes = record.notes
        self._summary_items: dict[str, Any] = dict(record.summary)
        self._history: History | None = None
        if active and not disabled:
            self._history = History(
                self._send,
                self._field_value,
                start_step=0 if record.last_step is None else record.last_step + 1,
                summary=self._summary_items,
            )
        mark = self._history.mark if self._history is not None else None
        self.config = Config(record.config, on_change=(lambda: mark("config")) if mark else None)
        self.summary = Summary(
            self._summary_items, on_change=(lambda: mark("summary")) if mark else None
        )
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

    @classmethod
    def _disabled_run(cls, record: RunRecord, settings: Settings) -> Run:
        """A run whose every call is a no-op that still returns usable objects."""
        return cls(record, cast(Backend, _NoBackend()), settings, active=True, disabled=True)

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
    exit_code: record_field[int | None] = record_field()

    @property
    def disabled(self) -> bool:
        """True for a run of ``init(mode="disabled")``: nothing is recorded."""
        return self._disabled

    @property
    def offline(self) -> bool:
        """True when the run records to the embedded store although a server is configured."""
        return self._settings.mode == "offline"

    @property
    def dir(self) -> str:
        """The folder given as ``init(dir=...)`` (default: the working folder)."""
        return self._dir or os.getcwd()

    @property
    def step(self) -> int:
        """The step the next ``log`` call writes to."""
        if self._history is not None:
            return self._history.step
        return 0 if self._record.last_step is None else self._record.last_step + 1

    @property
    def tags(self) -> tuple[str, ...] | list[str]:
        """A tuple on a running run, a list on one read through the Api (W&B's types)."""
        return self._tags if self._active else list(self._tags)

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        from cairn.core.run_data import check_tags

        self._tags = check_tags(list(value) if isinstance(value, tuple) else value)
        if self._history is not None:
            self._history.mark("tags")

    @property
    def notes(self) -> str | None:
        return self._notes

    @notes.setter
    def notes(self, value: str) -> None:
        if not isinstance(value, str):
            raise ValidationError(f"notes must be a string, got {type(value).__name__}")
        self._notes = value
        if self._history is not None:
            self._history.mark("notes")

    def _field_value(self, name: str) -> Any:
        if name == "config":
            return self.config.as_dict()
        if name == "summary":
            return self._summary_items
        if name == "tags":
            return self._tags
        if name == "notes":
            return self._notes
        raise KeyError(name)

    def _send(self, update: RunUpdate) -> None:
        self._backend.update_run(self.entity, self.project, self.id, update)

    # -- metrics -----------------------------------------------------------------------------------
    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """Add ``data`` to the run's history and summary (W&B's step rules, see
        :mod:`cairn.sdk.history`). Rows are sent in batches, not one request per call.

        Raises:
            TypeError: ``data`` is not a dict or holds a value with no JSON form.
            ValidationError: the run is finished.
        """
        if self._disabled:
            return
        self._ensure_active("log")
        assert self._history is not None
        self._history.log(data, step, commit)

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """Up to ``samples`` history rows spread evenly over the run (first and last kept), as a
        pandas DataFrame when pandas is installed and ``pandas`` is true, else a list of dicts.
        With ``keys``, only rows holding all of them, with just those keys and ``x_axis``."""
        if keys is not None and (
            not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
        ):
            raise ValidationError("keys must be a list of strings")
        if stream != "default":
            rows: list[dict[str, Any]] = []  # Cairn keeps no system metrics
        else:
            want = [x_axis, *keys] if keys else None
            rows = list(self._scan(want))
        if len(rows) > samples > 0:
            last = len(rows) - 1
            picks = sorted({round(i * last / (samples - 1)) for i in range(samples)})
            rows = [rows[i] for i in picks] if samples > 1 else rows[:1]
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                return rows
            return pd.DataFrame.from_records(rows)
        return rows

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int = 0,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every history row in step order, read ``page_size`` at a time. With ``keys``, only
        rows holding all of them, with just those keys and ``_step``."""
        if keys is not None and (
            not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
        ):
            raise ValueError("keys must be a list of strings")
        return self._scan(
            ["_step", *keys] if keys else None,
            page_size=page_size,
            min_step=min_step,
            max_step=max_step,
        )

    def _scan(
        self,
        keys: list[str] | None,
        *,
        page_size: int = 1000,
        min_step: int = 0,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        if self._disabled:
            return
        start = min_step
        while True:
            page = self._backend.run_history(
                self.entity,
                self.project,
                self.id,
                min_step=start,
                max_step=max_step,
                limit=page_size,
            )
            for row in page:
                if keys is None:
                    yield row
                elif all(k in row for k in keys):
                    yield {k: row[k] for k in keys}
            if len(page) < page_size:
                return
            start = int(page[-1]["_step"]) + 1

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
        if self._disabled:
            return self._as_artifact(artifact_or_path, name, type)
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
        if self._disabled:
            if isinstance(artifact_or_name, str):
                return Artifact(ArtifactPath.parse(artifact_or_name).name, type or "unspecified")
            return artifact_or_name
        self._ensure_active("use_artifact")
        if isinstance(artifact_or_name, Artifact):
            art = artifact_or_name
            if art.is_draft():
                # An unlogged draft is logged first; same content → the same version.
                art._log(self, aliases, None)
            art.wait()
        elif isinstance(artifact_or_name, str):
            from cairn.sdk.api import resolve_path

            # A name this run is still logging in the background means that version: let
            # those logs finish first (their errors stay for wait() and finish()).
            futures_wait([fut for _, fut in self._pending])
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
        assert art.id is not None and art._record is not None
        # Through a portfolio, the edge names the membership too (lineage: "used via").
        link_id = art._record.link_id
        self._backend.use_version(self.entity, self.project, self.id, art.id, use_as, link_id)
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
        if self._disabled:
            return artifact
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
        if self._disabled:
            return artifact
        self._ensure_active("finish_artifact")
        artifact._upsert(
            self, self._distributed_id(distributed_id, "finish_artifact"), aliases, finish=True
        )
        return artifact

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> Artifact:
        """Link a logged artifact into a portfolio or registry (see ``Artifact.link``)."""
        self._ensure_active("link_artifact")
        if artifact.is_draft():
            artifact._log(self, None, None)
        return artifact.link(target_path, aliases)

    def logged_artifacts(self) -> list[Artifact]:
        if self._disabled:
            return []
        return [
            Artifact._from_record(r, self._backend, self._settings)
            for r in self._backend.run_versions(self.entity, self.project, self.id, used=False)
        ]

    def used_artifacts(self) -> list[Artifact]:
        if self._disabled:
            return []
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
    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """End the run after its background logs have finished, and send what it logged.

        ``exit_code`` other than 0 marks it failed (``crashed`` when set by
        :meth:`_finish_as`). Raises ArtifactLogError (naming each artifact and its error) if
        any background log failed, or what the backend raises if the last history batch
        cannot be sent.
        """
        self._finish_as(None, exit_code)

    def _finish_as(self, state: str | None, exit_code: int | None) -> None:
        if not self._active:
            return
        self._active = False
        _deactivate(self)
        if self._disabled:
            return
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
        if state is None:
            state = "finished" if not exit_code and not failed else "failed"
        code = exit_code if exit_code is not None else (1 if failed else 0)
        assert self._history is not None
        self._history.close()
        try:
            self._history.flush(final=True, exit_code=code)
        finally:
            self._backend.finish_run(self.entity, self.project, self.id, state)
            self._record = replace(self._record, state=state, exit_code=code)
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
        # Already failing: finish, but do not let a log failure hide the original error. An
        # interrupt (not an Exception) ends it as crashed rather than failed.
        crashed = not issubclass(exc_type, Exception)
        with contextlib.suppress(ArtifactLogError):
            self._finish_as("crashed" if crashed else None, 1)

    def __repr__(self) -> str:
        return f"<Run {self.path} ({self.name}, {'running' if self._active else self.state})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)


_hooked = False
_uncaught: list[BaseException] = []


def _register_exit_hook() -> None:
    """At interpreter exit, finish every active run so nothing logged is lost: failed (exit
    code 1) after an uncaught exception, as W&B records it, else finished."""
    global _hooked
    if _hooked:
        return
    _hooked = True
    previous_hook = sys.excepthook

    def _excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        _uncaught.append(exc)
        previous_hook(exc_type, exc, tb)

    sys.excepthook = _excepthook

    def _at_exit() -> None:
        with _lock:
            runs = list(_active)
        for run in reversed(runs):
            try:
                run._finish_as(None, 1 if _uncaught else 0)
            except CairnError as exc:
                print(f"cairn: {exc}", file=sys.stderr)

    atexit.register(_at_exit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if any."""
    if _current is not None:
        _current.finish(exit_code)


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """``log`` on the current run (W&B's ``wandb.log``).

    Raises:
        ValidationError: no run is current (call ``cairn.init()`` first).
    """
    _require_run("log").log(data, step=step, commit=commit)


class _PreInit:
    """``cairn.config`` / ``cairn.summary`` before ``init()``: any use says to call it first."""

    _name: str

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _fail(self, *args: Any) -> Any:
        raise ValidationError(f"call cairn.init() before using cairn.{self._name}")

    __getitem__ = __setattr__ = __setitem__ = __contains__ = __iter__ = _fail

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):  # probes such as copy's and IPython's are not uses
            raise AttributeError(key)
        return self._fail()

    def __repr__(self) -> str:
        return f"<cairn.{self._name}: no run yet, call cairn.init()>"


def pre_init(name: str) -> Any:
    return _PreInit(name)


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


def init(**kwargs: Any) -> Run:
    """:func:`cairn.sdk.init.init` (that module builds on this one, so it is imported late)."""
    from cairn.sdk.init import init as start

    return start(**kwargs)

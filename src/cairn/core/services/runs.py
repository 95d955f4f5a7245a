"""Runs: starting, finishing and finding them, and which versions a run logged or used."""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cairn import naming
from cairn.core import links as _links
from cairn.core.db import models as m
from cairn.core.services.scope import Scope
from cairn.errors import (
    ArtifactNotFoundError,
    ProjectNotFoundError,
    RunNotFoundError,
    ValidationError,
)
from cairn.records import (
    COMMITTED,
    RunRecord,
    VersionRecord,
)

_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_run_id() -> str:
    return "".join(secrets.choice(_RUN_ID_ALPHABET) for _ in range(8))


class Runs(Scope):
    """Runs, and the lineage edges between runs and versions."""

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

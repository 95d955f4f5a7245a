"""What a training script records on its run: history rows, summary, config, tags, notes and
exit code; and reading them back, with W&B's run filters.

History is one row per step (``run_history``), kept as the JSON text the client logged so NaN
and infinities survive; a batch appends rows in step order and a row whose step is not above
the stored last step is skipped, so a batch sent twice (a retried request) stores nothing twice.
Summary and config are JSON on the run row; tags are rows of ``run_tags`` (filters query them).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cairn.core import run_filters
from cairn.core.db import models as m
from cairn.core.db.bulk import bulk_insert
from cairn.errors import ValidationError
from cairn.records import RunRecord, RunUpdate

if TYPE_CHECKING:
    from cairn.core.service import Service

MAX_TAG_LEN = 256
STATES = ("running", "finished", "failed", "crashed")
MAX_NOTES_LEN = 65536


def _finite(value: Any) -> Any:
    """NaN and infinities become null: JSON columns (PostgreSQL's) refuse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_dict(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"{what} must be a dict, got {type(value).__name__}")
    try:
        out: dict[str, Any] = json.loads(json.dumps(_finite(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} must be JSON-serialisable: {exc}") from None
    return out


def _row_text(row: object) -> tuple[int, str]:
    if not isinstance(row, Mapping):
        raise ValidationError(f"a history row must be a dict, got {type(row).__name__}")
    step = row.get("_step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValidationError(f"a history row needs a whole _step of 0 or more, got {step!r}")
    try:
        return step, json.dumps(row, allow_nan=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"history row at step {step} is not JSON-serialisable: {exc}"
        ) from None


def check_tags(tags: object) -> tuple[str, ...]:
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise ValidationError("tags must be a list of strings")
    for t in tags:
        if not isinstance(t, str) or not t or len(t) > MAX_TAG_LEN:
            raise ValidationError(f"tag {t!r}: use a string of 1 to {MAX_TAG_LEN} characters")
    return tuple(dict.fromkeys(tags))


def record_extras(s: Session, run: m.Run) -> dict[str, Any]:
    """The fields of a :class:`RunRecord` this module keeps."""
    tags = s.scalars(
        select(m.RunTag.tag).where(m.RunTag.run_id == run.id).order_by(m.RunTag.position)
    )
    last = s.scalar(select(func.max(m.RunHistoryRow.step)).where(m.RunHistoryRow.run_id == run.id))
    return {
        "tags": tuple(tags),
        "notes": run.notes,
        "summary": dict(run.summary or {}),
        "exit_code": run.exit_code,
        "last_step": last,
    }


class RunData:
    """Run history, summary, config, tags and notes, read and written for one caller."""

    def __init__(self, service: Service) -> None:
        self.service = service

    def update(self, entity: str, project: str, run_id: str, change: RunUpdate) -> int:
        """Apply ``change`` to the run in one transaction; returns how many history rows were
        stored (rows at or below the run's last step are skipped).

        Raises:
            RunNotFoundError: no such run (or not readable).
            PermissionDeniedError: the caller may not write to the project.
            ValidationError: a row without a whole ``_step``, steps out of order, a value that
                is not JSON, bad tags or notes.
        """
        rows = [_row_text(r) for r in change.history]
        if any(b[0] <= a[0] for a, b in itertools.pairwise(rows)):
            raise ValidationError("history rows must be in increasing _step order")
        summary = _json_dict(change.summary, "summary") if change.summary is not None else None
        config = _json_dict(change.config, "config") if change.config is not None else None
        tags = check_tags(change.tags) if change.tags is not None else None
        if change.notes is not None and (
            not isinstance(change.notes, str) or len(change.notes) > MAX_NOTES_LEN
        ):
            raise ValidationError(f"notes must be a string of at most {MAX_NOTES_LEN} characters")
        if change.state is not None and change.state not in STATES:
            raise ValidationError(f"run state {change.state!r} is not one of {', '.join(STATES)}")
        with self.service.db.write() as s:
            run = self.service._run(s, entity, project, run_id, "write")
            last = s.scalar(
                select(func.max(m.RunHistoryRow.step)).where(m.RunHistoryRow.run_id == run.id)
            )
            fresh = [(step, text) for step, text in rows if last is None or step > last]
            if fresh:
                bulk_insert(
                    s,
                    m.RunHistoryRow,
                    ({"run_id": run.id, "step": step, "row": text} for step, text in fresh),
                )
            if summary is not None:
                run.summary = summary
            if config is not None:
                run.config = config
            if tags is not None:
                s.execute(delete(m.RunTag).where(m.RunTag.run_id == run.id))
                bulk_insert(
                    s,
                    m.RunTag,
                    ({"run_id": run.id, "tag": t, "position": i} for i, t in enumerate(tags)),
                )
            if change.notes is not None:
                run.notes = change.notes
            if change.exit_code is not None:
                run.exit_code = change.exit_code
            if change.state is not None:
                run.state = change.state
                if change.state == "running":
                    run.finished_at = None
                    run.exit_code = None
            return len(fresh)

    def history_text(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        min_step: int = 0,
        max_step: int | None = None,
        limit: int = 1000,
    ) -> list[str]:
        """The JSON text of up to ``limit`` rows with ``min_step <= _step < max_step``, in step
        order (text, so a server can send them on without decoding them).

        Raises:
            RunNotFoundError: no such run (or not readable).
        """
        if limit < 1:
            raise ValidationError("limit must be at least 1")
        with self.service.db.read() as s:
            run = self.service._run(s, entity, project, run_id, "read")
            q = select(m.RunHistoryRow.row).where(
                m.RunHistoryRow.run_id == run.id, m.RunHistoryRow.step >= min_step
            )
            if max_step is not None:
                q = q.where(m.RunHistoryRow.step < max_step)
            return list(s.scalars(q.order_by(m.RunHistoryRow.step).limit(limit)))

    def history(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        min_step: int = 0,
        max_step: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """:meth:`history_text`, decoded."""
        texts = self.history_text(
            entity, project, run_id, min_step=min_step, max_step=max_step, limit=limit
        )
        return [json.loads(t) for t in texts]

    def list_runs(
        self,
        entity: str,
        project: str,
        *,
        filters: Mapping[str, Any] | None = None,
        newest_first: bool = True,
        after: int | None = None,
        limit: int = 50,
    ) -> tuple[list[RunRecord], int | None]:
        """Runs of a project that pass W&B-style ``filters`` (:mod:`cairn.core.run_filters`),
        newest first by default, ``limit`` at a time; returns them and the cursor for the next
        page (None at the end).

        Raises:
            ProjectNotFoundError: no such project (or not readable).
            ValidationError: a malformed filter.
        """
        flt = run_filters.check(filters)
        if limit < 1:
            raise ValidationError("limit must be at least 1")
        with self.service.db.read() as s:
            proj = self.service._readable_project(s, entity, project)
            dialect = s.get_bind().dialect.name
            q = select(m.Run).where(
                m.Run.project_id == proj.id, *run_filters.sql_prefilter(flt, dialect)
            )
            if after is not None:
                q = q.where(m.Run.id < after if newest_first else m.Run.id > after)
            q = q.order_by(m.Run.id.desc() if newest_first else m.Run.id)
            out: list[RunRecord] = []
            # Filters on JSON fields are decided here, so read candidates in pages until a
            # page of matches is full.
            for run in s.scalars(q.execution_options(yield_per=200)):
                tags = list(s.scalars(select(m.RunTag.tag).where(m.RunTag.run_id == run.id)))
                if run_filters.matches(run_filters.document(run, tags), flt):
                    out.append(self.service._run_record(s, run))
                    if len(out) == limit:
                        return out, run.id
            return out, None

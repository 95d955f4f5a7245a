"""Files a run saved beside its history: what the W&B client uploads when a run finishes
(``config.yaml``, ``output.log``, ``wandb-summary.json``, ``requirements.txt``, files given to
``wandb.save``), by name, the last upload of a name winning.

Their bytes live in the ``run_files`` row, not in the blob store: they are small, change under
the same name, and belong to no version, so they stay out of content addressing and GC (a row
goes with its run). A file over :data:`MAX_BYTES` is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING

from sqlalchemy import select

from cairn.core.db import models as m
from cairn.errors import NotFoundError, PayloadTooLargeError, ValidationError
from cairn.validation import text_problem

if TYPE_CHECKING:
    from cairn.core.service import Service

MAX_BYTES = 64 * 1024 * 1024
MAX_NAME_LEN = 512
CHUNK = 1 << 20
# In a signed upload URL's grant (cairn.core.signed_urls), the field naming the run file: what
# tells a run file's grant from a blob's. Its target is the run's ``entity/project/run_id``.
GRANT_FIELD = "run_file"


@dataclass(frozen=True)
class RunFileInfo:
    name: str
    size: int
    md5: str  # lowercase hex
    updated_at: datetime


def check_name(name: object) -> str:
    """A run file's name: a relative ``/``-separated path without ``.`` or ``..`` parts.

    Raises:
        ValidationError: anything else.
    """
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LEN:
        raise ValidationError(f"a run file name is 1 to {MAX_NAME_LEN} characters")
    problem = text_problem(name)
    parts = name.split("/")
    if problem or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValidationError(f"run file name {name!r}: use a relative path without '.' or '..'")
    return name


def save(
    service: Service, entity: str, project: str, run_id: str, name: str, stream: IO[bytes]
) -> RunFileInfo:
    """Store ``stream`` as the run's file ``name`` (replacing an earlier one).

    Raises:
        RunNotFoundError: no such run (or the caller may not read it).
        PermissionDeniedError: the caller may not write to the project.
        ValidationError: a bad name.
        PayloadTooLargeError: more than :data:`MAX_BYTES`.
    """
    check_name(name)
    md5, chunks, size = hashlib.md5(), [], 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            raise PayloadTooLargeError(f"run file {name!r} is over {MAX_BYTES} bytes")
        md5.update(chunk)
        chunks.append(chunk)
    with service.db.write() as s:
        run = service._run(s, entity, project, run_id, "write")
        row = s.get(m.RunFile, (run.id, name))
        if row is None:
            row = m.RunFile(run_id=run.id, name=name)
            s.add(row)
        row.content = b"".join(chunks)
        row.size = size
        row.md5 = md5.hexdigest()
        row.updated_at = m.utcnow()
        s.flush()
        return RunFileInfo(name, size, row.md5, m.as_utc(row.updated_at))


def list_files(service: Service, entity: str, project: str, run_id: str) -> list[RunFileInfo]:
    """The run's files, by name.

    Raises:
        RunNotFoundError: no such run (or the caller may not read it).
    """
    with service.db.read() as s:
        run = service._run(s, entity, project, run_id, "read")
        rows = s.execute(
            select(m.RunFile.name, m.RunFile.size, m.RunFile.md5, m.RunFile.updated_at)
            .where(m.RunFile.run_id == run.id)
            .order_by(m.RunFile.name)
        )
        return [RunFileInfo(n, size, md5, m.as_utc(at)) for n, size, md5, at in rows]


def read(service: Service, entity: str, project: str, run_id: str, name: str) -> bytes:
    """The bytes of the run's file ``name``.

    Raises:
        RunNotFoundError: no such run (or the caller may not read it).
        NotFoundError: the run has no such file.
    """
    with service.db.read() as s:
        run = service._run(s, entity, project, run_id, "read")
        content = s.scalar(
            select(m.RunFile.content).where(m.RunFile.run_id == run.id, m.RunFile.name == name)
        )
        if content is None:
            raise NotFoundError(f"run {entity}/{project}/{run_id} has no file {name!r}")
        return bytes(content)

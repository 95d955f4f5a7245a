"""The W&B client's run stream (``file_stream``) and run fields, applied to Cairn's own run
records (:mod:`cairn.core.run_data`), so a run logged by ``wandb`` reads back through Cairn's
SDK and the other way round.

What a ``file_stream`` request carries, per file, is ``{"offset": n, "content": [lines]}``:

=======================  =========================================================================
``wandb-history.jsonl``  one JSON row per step (``_step``, ``_timestamp``, ``_runtime`` and what
                         was logged, nested dicts kept nested) → the run's history rows
``wandb-summary.json``   the whole summary, each line; the last line wins → the run's summary
``output.log``           console lines; accepted here, kept as the ``output.log`` run file the
                         client uploads when the run finishes
``wandb-events.jsonl``   system metrics; accepted, not kept
=======================  =========================================================================

and, on the last request, ``complete: true`` with the process's ``exitcode``: the run finishes,
``finished`` on 0 and ``failed`` otherwise.

A resend is idempotent: history lines carry their step and a row at or below the stored last
step is skipped (the offset a client resends from always lies at or below it), and the summary
is replaced whole. A history line from an offset beyond what is stored is accepted as well: W&B
sends a resumed run's lines from the run's ``historyLineCount``, which is what is stored.

W&B keeps a run's config as ``{key: {"value": v, "desc": d}}`` with its own bookkeeping under
``_wandb``; Cairn keeps ``{key: v}``. :func:`config_from_wandb` and :func:`config_to_wandb`
convert; ``_wandb`` and ``wandb_version`` are the client's, not the user's, and are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cairn.core.run_data import RunData
from cairn.errors import ValidationError
from cairn.records import RunRecord, RunUpdate

if TYPE_CHECKING:
    from cairn.core.service import Service

HISTORY = "wandb-history.jsonl"
SUMMARY = "wandb-summary.json"
OUTPUT = "output.log"
EVENTS = "wandb-events.jsonl"
FILES = (HISTORY, SUMMARY, OUTPUT, EVENTS)

# Keys the W&B client keeps in a run's config for itself.
CLIENT_CONFIG_KEYS = ("_wandb", "wandb_version")
# Summary keys the W&B client adds (runtime bookkeeping), not the user's.
CLIENT_SUMMARY_KEYS = ("_wandb",)


@dataclass(frozen=True)
class StreamChunk:
    """One file's part of a ``file_stream`` request: ``content`` lines from line ``offset``."""

    offset: int
    content: tuple[str, ...]


@dataclass(frozen=True)
class StreamRequest:
    """A parsed ``file_stream`` body."""

    files: Mapping[str, StreamChunk] = field(default_factory=dict)
    complete: bool = False
    exit_code: int | None = None


@dataclass(frozen=True)
class StreamResult:
    """What one request changed: history rows stored (resent ones are not counted), whether
    the summary was replaced, and the run's state afterwards."""

    stored_rows: int
    summary_replaced: bool
    state: str


def _decode(line: str, what: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise ValidationError(f"{what}: a line is not JSON") from None


def parse_body(body: object) -> StreamRequest:
    """The request from a decoded ``file_stream`` JSON body.

    Raises:
        ValidationError: not the shape the W&B client sends.
    """
    if not isinstance(body, Mapping):
        raise ValidationError("a file_stream body is a JSON object")
    files_in = body.get("files")
    files_in = {} if files_in is None else files_in
    if not isinstance(files_in, Mapping):
        raise ValidationError("files must be an object of {name: {offset, content}}")
    files: dict[str, StreamChunk] = {}
    for name, chunk in files_in.items():
        if not isinstance(chunk, Mapping):
            raise ValidationError(f"files[{name!r}] must be an object with offset and content")
        offset = chunk.get("offset", 0)
        content = chunk.get("content") or []
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValidationError(f"files[{name!r}].offset must be a whole number of 0 or more")
        if not isinstance(content, list) or not all(isinstance(c, str) for c in content):
            raise ValidationError(f"files[{name!r}].content must be a list of strings")
        files[str(name)] = StreamChunk(offset, tuple(content))
    exit_code = body.get("exitcode")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise ValidationError("exitcode must be a whole number or null")
    return StreamRequest(files=files, complete=bool(body.get("complete")), exit_code=exit_code)


def finished_state(exit_code: int | None) -> str:
    """The state a run ends in when its process exits with ``exit_code``."""
    return "finished" if exit_code in (0, None) else "failed"


def apply(
    service: Service, entity: str, project: str, run_id: str, request: StreamRequest
) -> StreamResult:
    """Store what one ``file_stream`` request carries on the run ``entity/project/run_id``.

    Raises:
        RunNotFoundError: no such run (or the caller may not read it).
        PermissionDeniedError: the caller may not write to the project.
        ValidationError: a history or summary line that is not a JSON object, or a history
            row without a whole ``_step``.
    """
    rows: list[dict[str, Any]] = []
    history = request.files.get(HISTORY)
    if history is not None:
        for line in history.content:
            row = _decode(line, HISTORY)
            if not isinstance(row, dict):
                raise ValidationError(f"{HISTORY}: a line is not a JSON object")
            rows.append(row)
    summary: dict[str, Any] | None = None
    summary_chunk = request.files.get(SUMMARY)
    if summary_chunk is not None and summary_chunk.content:
        last = _decode(summary_chunk.content[-1], SUMMARY)
        if not isinstance(last, dict):
            raise ValidationError(f"{SUMMARY}: a line is not a JSON object")
        summary = last
    # Rows arrive in step order, but a resent batch can overlap the stored ones; keep the
    # rows in increasing step order and let run_data skip what it holds.
    rows = _increasing(rows)
    change = RunUpdate(
        history=tuple(rows),
        summary=summary,
        exit_code=request.exit_code if request.complete else None,
    )
    data = RunData(service)
    stored = data.update(entity, project, run_id, change)
    if request.complete:
        state = finished_state(request.exit_code)
        service.finish_run(entity, project, run_id, state)
    else:
        state = service.get_run(entity, project, run_id).state
    return StreamResult(stored_rows=stored, summary_replaced=summary is not None, state=state)


def _increasing(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in rows:
        step, prev = row.get("_step"), out[-1].get("_step") if out else None
        if isinstance(step, int) and isinstance(prev, int) and step <= prev:
            continue  # a line repeated within one request
        out.append(row)
    return out


# -- config and summary, as the W&B client sends and reads them ---------------------------------
def config_from_wandb(text: str | None) -> dict[str, Any] | None:
    """Cairn's ``{key: value}`` from the W&B client's config JSON (``{key: {"value": v}}``);
    None for no config.

    Raises:
        ValidationError: not a JSON object.
    """
    if text is None or text == "":
        return None
    raw = _decode(text, "config")
    if not isinstance(raw, dict):
        raise ValidationError("config must be a JSON object")
    out: dict[str, Any] = {}
    for key, item in raw.items():
        if key in CLIENT_CONFIG_KEYS:
            continue
        out[key] = item["value"] if isinstance(item, dict) and "value" in item else item
    return out


def config_to_wandb(config: Mapping[str, Any]) -> str:
    """The W&B client's config JSON for Cairn's ``{key: value}``."""
    return json.dumps({k: {"value": v, "desc": None} for k, v in config.items()})


def summary_to_wandb(run: RunRecord) -> str:
    """The summary as the W&B client reads it (``summaryMetrics``): as stored, plus ``_step``
    from the history when the writer did not put it there."""
    summary = dict(run.summary)
    if run.last_step is not None:
        summary.setdefault("_step", run.last_step)
    return json.dumps(summary)


def history_line_count(run: RunRecord) -> int:
    """How many history lines the W&B client is to believe it sent (it resumes its stream's
    offset there): one per stored step, steps counted from 0."""
    return 0 if run.last_step is None else run.last_step + 1

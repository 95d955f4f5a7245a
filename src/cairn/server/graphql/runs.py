"""Runs through W&B's GraphQL: ``UpsertBucket``, ``RunResumeStatus``, ``CreateRunFiles``, the
organisation probes, and the ``Run``/``Runs``/history queries of ``wandb.Api()``.

Everything is stored on Cairn's own run records (:mod:`cairn.core.run_data`); the W&B shapes
(config as ``{key: {"value"}}``, summary and rows as JSON text) are converted by
:mod:`cairn.core.run_stream`. A run is W&B's ``name`` = Cairn's run id, W&B's ``displayName`` =
Cairn's run name.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from ariadne import MutationType, ObjectType, QueryType
from graphql import GraphQLResolveInfo

from cairn.core import run_files, run_stream
from cairn.core.run_data import RunData
from cairn.core.service import Service
from cairn.core.signed_urls import PUT
from cairn.errors import RunNotFoundError, ValidationError
from cairn.records import RunRecord, RunUpdate
from cairn.server import transfer_urls
from cairn.server.graphql import ids
from cairn.server.graphql.context import context_of
from cairn.server.graphql.projects import project_node

query = QueryType()
mutation = MutationType()
project_type = ObjectType("Project")
run_type = ObjectType("Run")
organization_type = ObjectType("Organization")

# W&B puts runs logged without a project here.
DEFAULT_PROJECT = "uncategorized"
# Rows the history queries read from the database at a time.
PAGE = 1000
# The most rows one history answer carries (W&B's own limit for sampled history).
MAX_SAMPLES = 10_000


# -- shapes -------------------------------------------------------------------------------------
def _project_names(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(entity, project) of a Project node (:func:`~cairn.server.graphql.projects.project_node`)."""
    return str(obj["entityName"]), str(obj["name"])


def run_node(run: RunRecord) -> dict[str, Any]:
    """A Run with every field the client's run fragments select."""
    return {
        "record": run,
        "id": ids.encode("Run", run.path),
        "name": run.id,
        "displayName": run.name,
        # The client int()s it and never sends it back: a stable number for the project, kept
        # within GraphQL's Int (32 bits, signed).
        "projectId": zlib.crc32(f"{run.entity}/{run.project}".encode()) & 0x7FFFFFFF,
        "project": project_node(run.entity, run.project),
        "tags": list(run.tags),
        "sweepName": None,
        "state": run.state,
        "config": run_stream.config_to_wandb(run.config),
        "group": run.group,
        "jobType": run.job_type,
        "commit": None,
        "readOnly": False,
        "createdAt": run.created_at,
        "heartbeatAt": run.finished_at or run.created_at,
        "description": run.notes,
        "notes": run.notes,
        "systemMetrics": "{}",
        "summaryMetrics": run_stream.summary_to_wandb(run),
        "historyLineCount": run_stream.history_line_count(run),
        "logLineCount": 0,
        "eventsLineCount": 0,
        "eventsTail": "[]",
        "user": {"id": ids.encode("User", run.entity), "name": run.entity, "username": run.entity},
    }


def _record(obj: Any, info: GraphQLResolveInfo) -> RunRecord:
    """The run a Run object stands for (another module's Run carries only its names)."""
    record = obj.get("record") if isinstance(obj, Mapping) else None
    if isinstance(record, RunRecord):
        return record
    entity, project = _project_names(obj["project"])
    return context_of(info).service.get_run(entity, project, obj["name"])


def _find(service: Service, entity: str, project: str, name: str) -> dict[str, Any] | None:
    try:
        return run_node(service.get_run(entity, project, name))
    except RunNotFoundError:
        return None  # W&B answers null for a run that is not there (or not readable)


# -- queries ------------------------------------------------------------------------------------
@query.field("model")
def resolve_model(
    _obj: Any, info: GraphQLResolveInfo, name: str | None = None, entityName: str | None = None
) -> dict[str, Any]:
    who = context_of(info).principal
    return project_node(entityName or who.name, name or DEFAULT_PROJECT)


@query.field("organization")
def resolve_organization(_obj: Any, _info: GraphQLResolveInfo, name: str) -> dict[str, Any]:
    # Cairn has no organisations above entities; an entity is its own (see viewer.py).
    return {"id": ids.encode("Organization", name), "name": name}


@organization_type.field("coreWeaveOrganizationId")
def resolve_coreweave_id(_obj: Any, _info: GraphQLResolveInfo) -> None:
    return None  # an id here would make the client probe a cloud metadata endpoint


@organization_type.field("featureFlags")
def resolve_feature_flags(_obj: Any, _info: GraphQLResolveInfo, **_args: Any) -> list[Any]:
    return []


@project_type.field("run")
def resolve_run(obj: Any, info: GraphQLResolveInfo, name: str) -> dict[str, Any] | None:
    entity, project = _project_names(obj)
    return _find(context_of(info).service, entity, project, name)


@project_type.field("bucket")
def resolve_bucket(
    obj: Any, info: GraphQLResolveInfo, name: str, missingOk: bool | None = None
) -> dict[str, Any] | None:
    entity, project = _project_names(obj)
    return _find(context_of(info).service, entity, project, name)


def _filters(value: Any) -> dict[str, Any] | None:
    if value is None or value == {}:
        return None
    if isinstance(value, str):
        value = json.loads(value) if value else None
    if value is not None and not isinstance(value, dict):
        raise ValidationError("filters must be a JSON object")
    return value


@project_type.field("runs")
def resolve_runs(
    obj: Any,
    info: GraphQLResolveInfo,
    filters: Any = None,
    after: str | None = None,
    first: int | None = None,
    order: str | None = None,
) -> dict[str, Any]:
    entity, project = _project_names(obj)
    # Runs are ordered by creation only: "+created_at" oldest first, "-created_at" newest.
    newest_first = (order or "+created_at").startswith("-")
    try:
        cursor = int(after) if after else None
    except ValueError:
        raise ValidationError(f"{after!r} is not a cursor of this run list") from None
    runs, nxt = RunData(context_of(info).service).list_runs(
        entity,
        project,
        filters=_filters(filters),
        newest_first=newest_first,
        after=cursor,
        limit=min(max(first or 50, 1), 1000),
    )
    return {
        "edges": [{"node": run_node(r), "cursor": r.id} for r in runs],
        "pageInfo": {
            "startCursor": None,
            "endCursor": str(nxt) if nxt is not None else None,
            "hasNextPage": nxt is not None,
            "hasPreviousPage": cursor is not None,
        },
    }


@project_type.field("runCount")
def resolve_run_count(obj: Any, info: GraphQLResolveInfo, filters: Any = None) -> int:
    entity, project = _project_names(obj)
    data = RunData(context_of(info).service)
    count, cursor = 0, None
    while True:
        runs, cursor = data.list_runs(
            entity, project, filters=_filters(filters), after=cursor, limit=1000
        )
        count += len(runs)
        if cursor is None:
            return count


# -- run fields that read history ---------------------------------------------------------------
def _all_rows(data: RunData, run: RunRecord, min_step: int, max_step: int | None) -> list[str]:
    """Every row's text with ``min_step <= _step < max_step``, read a page at a time."""
    out: list[str] = []
    start = min_step
    while True:
        page = data.history_text(
            run.entity, run.project, run.id, min_step=start, max_step=max_step, limit=PAGE
        )
        out.extend(page)
        if len(page) < PAGE:
            return out
        start = json.loads(page[-1])["_step"] + 1


def _sample(rows: Sequence[Any], samples: int) -> list[Any]:
    """At most ``samples`` rows spread evenly over ``rows``, the first and last included."""
    n = len(rows)
    if samples >= n:
        return list(rows)
    if samples <= 1:
        return list(rows[-1:]) if samples == 1 else []
    picks = sorted({round(i * (n - 1) / (samples - 1)) for i in range(samples)})
    return [rows[i] for i in picks]


@run_type.field("history")
def resolve_history(
    obj: Any,
    info: GraphQLResolveInfo,
    samples: int | None = None,
    minStep: int | None = None,
    maxStep: int | None = None,
) -> list[str]:
    run = _record(obj, info)
    data = RunData(context_of(info).service)
    limit = min(samples if samples is not None else 500, MAX_SAMPLES)
    if minStep is not None or maxStep is not None:
        # A page by step range (wandb-core's scan): the rows themselves, not a sample.
        return data.history_text(
            run.entity,
            run.project,
            run.id,
            min_step=minStep or 0,
            max_step=maxStep,
            limit=max(limit, 1),
        )
    return _sample(_all_rows(data, run, 0, None), limit)


@run_type.field("events")
def resolve_events(_obj: Any, _info: GraphQLResolveInfo, samples: int | None = None) -> list[str]:
    return []


def _spec(text: Any) -> dict[str, Any]:
    spec = json.loads(text) if isinstance(text, str) else text
    if not isinstance(spec, dict) or not isinstance(spec.get("keys"), list):
        raise ValidationError('a history spec is {"keys": [...], "samples": n}')
    return spec


@run_type.field("sampledHistory")
def resolve_sampled_history(
    obj: Any, info: GraphQLResolveInfo, specs: list[Any]
) -> list[list[dict[str, Any]]]:
    run = _record(obj, info)
    data = RunData(context_of(info).service)
    out: list[list[dict[str, Any]]] = []
    for raw in specs:
        spec = _spec(raw)
        keys = list(dict.fromkeys(str(k) for k in spec["keys"]))
        wanted = [k for k in keys if k != "_step"] or keys
        max_step = spec.get("maxStep")  # inclusive in a spec
        rows = [
            json.loads(t)
            for t in _all_rows(
                data,
                run,
                int(spec.get("minStep") or 0),
                int(max_step) + 1 if max_step is not None else None,
            )
        ]
        # W&B's sampled history holds the rows that logged every key asked for.
        picked = [{k: r[k] for k in keys if k in r} for r in rows if all(k in r for k in wanted)]
        out.append(_sample(picked, min(int(spec.get("samples") or 500), MAX_SAMPLES)))
    return out


@run_type.field("parquetHistory")
def resolve_parquet_history(
    obj: Any, info: GraphQLResolveInfo, liveKeys: list[str]
) -> dict[str, Any]:
    # No parquet exports: every step is "live", so the client reads them through HistoryPage.
    run = _record(obj, info)
    rows = _all_rows(RunData(context_of(info).service), run, 0, None)
    return {"parquetUrls": [], "liveData": [{"_step": json.loads(t)["_step"]} for t in rows]}


@run_type.field("historyKeys")
def resolve_history_keys(obj: Any, info: GraphQLResolveInfo) -> dict[str, Any] | None:
    run = _record(obj, info)
    if run.last_step is None:
        return None  # the client reads this as "no history" (lastStep -1)
    counts: dict[str, dict[str, int]] = {}
    for text in _all_rows(RunData(context_of(info).service), run, 0, None):
        for key, value in json.loads(text).items():
            kind = _type_name(value)
            counts.setdefault(key, {}).setdefault(kind, 0)
            counts[key][kind] += 1
    return {
        "lastStep": run.last_step,
        "keys": {
            k: {"typeCounts": [{"type": t, "count": c} for t, c in kinds.items()]}
            for k, kinds in counts.items()
        },
    }


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return str(value.get("_type", "map"))
    return "list" if isinstance(value, list) else "nil"


@run_type.field("historyTail")
def resolve_history_tail(obj: Any, info: GraphQLResolveInfo) -> str:
    run = _record(obj, info)
    if run.last_step is None:
        return "[]"
    last = RunData(context_of(info).service).history_text(
        run.entity, run.project, run.id, min_step=run.last_step, limit=1
    )
    return json.dumps(last)


@run_type.field("wandbConfig")
def resolve_wandb_config(
    _obj: Any, _info: GraphQLResolveInfo, keys: list[str] | None = None
) -> str:
    # The client takes a run with "t" (its telemetry) as one that has started, so resumable.
    return json.dumps({"t": {}})


# -- mutations ----------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json_dict(value: Any, what: str) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be a JSON object")
    return value


@mutation.field("upsertBucket")
def resolve_upsert_bucket(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    """Create the run, or update (and resume) the one with that name."""
    ctx = context_of(info)
    svc = ctx.service
    entity = _text(input.get("entityName")) or ctx.principal.name
    project = _text(input.get("modelName")) or DEFAULT_PROJECT
    name = _text(input.get("name"))
    raw_config = input.get("config")
    config = run_stream.config_from_wandb(
        raw_config if isinstance(raw_config, str) or raw_config is None else json.dumps(raw_config)
    )
    existing = _find(svc, entity, project, name) if name else None
    run = svc.create_run(
        entity,
        project,
        run_id=name,
        name=_text(input.get("displayName")),
        job_type=_text(input.get("jobType")),
        group=_text(input.get("groupName")),
        config=config,
    )
    tags = input.get("tags")
    summary = _json_dict(input.get("summaryMetrics"), "summaryMetrics")
    notes = input.get("notes")
    # The client's own process (no GraphQL id) upserting a run that has ended is a resume;
    # an edit through the public API (with the id) leaves its state alone.
    resumed = existing is not None and input.get("id") is None and run.state != "running"
    change = RunUpdate(
        config=config if existing is not None else None,
        summary=summary,
        tags=tuple(tags) if tags is not None else None,
        notes=notes if isinstance(notes, str) else None,
        state="running" if resumed else None,
    )
    if change != RunUpdate():
        RunData(svc).update(entity, project, run.id, change)
        run = svc.get_run(entity, project, run.id)
    return {"bucket": run_node(run), "inserted": existing is None}


@mutation.field("createRunFiles")
def resolve_create_run_files(
    _obj: Any, info: GraphQLResolveInfo, input: dict[str, Any]
) -> dict[str, Any]:
    """Where to PUT each run file: a URL of ours whose grant names the run and the file."""
    ctx = context_of(info)
    entity, project, name = input["entityName"], input["projectName"], input["runName"]
    files = [run_files.check_name(f) for f in input["files"]]
    # A reader gets URLs too: each PUT is checked as the grant's account, which must be
    # allowed to write to the project.
    run = ctx.service.get_run(entity, project, name)
    signer = transfer_urls.signer(ctx.state)
    expires = ctx.state.config.presign_expires
    who = ctx.principal.name
    return {
        "runID": ids.encode("Run", run.path),
        "uploadHeaders": [],
        "files": [
            {
                "name": f,
                "uploadUrl": f"{ctx.base_url}/files/signed/"
                + signer.sign(PUT, who, run.path, expires, **{run_files.GRANT_FIELD: f}),
            }
            for f in files
        ],
    }


BINDABLES = [query, mutation, project_type, run_type, organization_type]
__all__ = ["BINDABLES", "run_node"]

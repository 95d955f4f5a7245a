"""Runs: a project's runs, and a run's config, summary, history charts (the vendored uPlot,
fed by the ``…/metrics`` JSON route) and the versions it used and logged."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from cairn.core.run_data import RunData
from cairn.server.ui.render import PageRoute, page, url_path
from cairn.server.ui.session import Reader, service_for
from cairn.server.ui.versions import version_url

router = APIRouter(route_class=PageRoute)

RUNS_PAGE = 50
MAX_POINTS = 10_000  # history rows charted (the first ones, in step order)
MAX_SERIES = 40  # metrics charted; the rest are named on the page


def run_url(entity: str, project: str, run_id: str) -> str:
    return "/projects/" + url_path(f"{entity}/{project}/runs/{run_id}")


@router.get("/projects/{entity}/{project}/runs")
def run_list(
    request: Request,
    viewer: Reader,
    entity: str,
    project: str,
    after: Annotated[int | None, Query()] = None,
) -> Response:
    """A project's runs, newest first, a page at a time."""
    svc = service_for(request, viewer)
    runs, nxt = RunData(svc).list_runs(entity, project, after=after, limit=RUNS_PAGE)
    context = {
        "viewer": viewer,
        "entity": entity,
        "project": project,
        "runs": [(r, run_url(r.entity, r.project, r.id)) for r in runs],
        "next": nxt,
    }
    return page(request, "runs.html", context)


@router.get("/projects/{entity}/{project}/runs/{run_id}")
def run_page(request: Request, viewer: Reader, entity: str, project: str, run_id: str) -> Response:
    """A run: what it was configured with, what it reported, what it read and wrote."""
    svc = service_for(request, viewer)
    run = svc.get_run(entity, project, run_id)
    used = svc.run_versions(entity, project, run_id, used=True)
    logged = svc.run_versions(entity, project, run_id, used=False)
    base = run_url(run.entity, run.project, run.id)
    context = {
        "viewer": viewer,
        "run": run,
        "base": base,
        "used": [(v, version_url(v)) for v in used],
        "logged": [(v, version_url(v)) for v in logged],
        "metrics_url": f"{base}/metrics",
    }
    return page(request, "run.html", context)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def series(rows: list[str]) -> dict[str, Any]:
    """History rows (JSON text, as stored) as one x axis (``_step``) and a y list per numeric
    metric (None where a row lacks it, or holds NaN or an infinity)."""
    decoded = [json.loads(r) for r in rows]
    keys: dict[str, None] = {}
    for row in decoded:
        for k, val in row.items():
            if not k.startswith("_") and _finite(val) is not None:
                keys.setdefault(k, None)
    names = list(keys)
    return {
        "steps": [row.get("_step") for row in decoded],
        "series": {k: [_finite(row.get(k)) for row in decoded] for k in names[:MAX_SERIES]},
        "omitted": names[MAX_SERIES:],
        "truncated": len(rows) >= MAX_POINTS,
    }


@router.get("/projects/{entity}/{project}/runs/{run_id}/metrics")
def metrics(request: Request, viewer: Reader, entity: str, project: str, run_id: str) -> Response:
    """The run's numeric history, for the charts."""
    svc = service_for(request, viewer)
    rows = RunData(svc).history_text(entity, project, run_id, limit=MAX_POINTS)
    return JSONResponse(series(rows))

"""The lineage graph around a version or a run (:mod:`cairn.core.lineage`), drawn left to right
by the vendored cytoscape and cytoscape-dagre from the JSON of a ``…/lineage/graph`` route.

The page lists every node as a link too, so the graph is usable from the keyboard and without
scripts. A node the viewer may not read is a placeholder from the core (no name, no id); it is
drawn as "private" and links nowhere.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from cairn.core import lineage
from cairn.records import LineageNode, LineageRecord
from cairn.server.ui.render import PageRoute, page, url_path
from cairn.server.ui.session import Reader, service_for
from cairn.server.ui.versions import version_url

router = APIRouter(route_class=PageRoute)

Direction = Annotated[str, Query(pattern="^(upstream|downstream|both)$")]
Depth = Annotated[int, Query(ge=1, le=50)]
DEFAULT_DEPTH = 3


def _project(node: LineageNode) -> str:
    return "/projects/" + url_path(f"{node.entity}/{node.project}")


def page_of(node: LineageNode) -> str | None:
    """The node's own page (a version, a portfolio's version, a run); None for a placeholder."""
    if node.hidden:
        return None
    if node.kind == lineage.RUN:
        return f"{_project(node)}/runs/{url_path(node.id or '')}"
    return f"{_project(node)}/artifacts/{url_path(node.name or '')}/{node.version}"


def graph_of(node: LineageNode) -> str | None:
    """The lineage page centred on the node (a link's: its portfolio version's page)."""
    if node.hidden:
        return None
    if node.kind == lineage.RUN:
        return f"{_project(node)}/runs/{url_path(node.id or '')}/lineage"
    if node.kind == lineage.VERSION:
        return f"/versions/{node.id}/lineage"
    return page_of(node)


def label(node: LineageNode) -> str:
    if node.hidden:
        return "private"
    if node.kind == lineage.RUN:
        return node.name or node.id or "run"
    return f"{node.name}:{node.version}"


def elements(record: LineageRecord) -> dict[str, Any]:
    """The graph as cytoscape elements; only what the core gave (placeholders stay blank)."""
    nodes = [
        {
            "data": {
                "id": n.key,
                "label": label(n),
                "kind": "hidden" if n.hidden else n.kind,
                "type": n.type or "",
                "url": graph_of(n) or "",
                "root": n.key == record.root,
            }
        }
        for n in record.nodes
    ]
    edges = [
        {"data": {"id": f"e{i}", "source": e.source, "target": e.target, "kind": e.kind}}
        for i, e in enumerate(record.edges)
    ]
    return {"nodes": nodes, "edges": edges}


def _page(
    request: Request,
    viewer: Any,
    record: LineageRecord,
    title: str,
    back: str,
    graph_url: str,
    direction: str,
    depth: int,
) -> Response:
    nodes = sorted(record.nodes, key=lambda n: (n.depth, n.hidden, n.kind, label(n)))
    context = {
        "viewer": viewer,
        "title": title,
        "back": back,
        "graph_url": f"{graph_url}?direction={direction}&depth={depth}",
        "direction": direction,
        "depth": depth,
        "nodes": [(n, label(n), page_of(n), graph_of(n)) for n in nodes],
        "edge_count": len(record.edges),
        "root": record.root,
    }
    return page(request, "lineage.html", context)


@router.get("/versions/{version_id}/lineage")
def version_lineage(
    request: Request,
    viewer: Reader,
    version_id: str,
    direction: Direction = "both",
    depth: Depth = DEFAULT_DEPTH,
) -> Response:
    svc = service_for(request, viewer)
    v = svc.get_version(version_id)
    record = lineage.of_version(svc, v.id, direction=direction, depth=depth)
    title = f"{v.collection}:{v.version}"
    graph_url = f"/versions/{v.id}/lineage/graph"
    return _page(request, viewer, record, title, version_url(v), graph_url, direction, depth)


@router.get("/versions/{version_id}/lineage/graph")
def version_graph(
    request: Request,
    viewer: Reader,
    version_id: str,
    direction: Direction = "both",
    depth: Depth = DEFAULT_DEPTH,
) -> Response:
    svc = service_for(request, viewer)
    record = lineage.of_version(svc, version_id, direction=direction, depth=depth)
    return JSONResponse(elements(record))


@router.get("/projects/{entity}/{project}/runs/{run_id}/lineage")
def run_lineage(
    request: Request,
    viewer: Reader,
    entity: str,
    project: str,
    run_id: str,
    direction: Direction = "both",
    depth: Depth = DEFAULT_DEPTH,
) -> Response:
    svc = service_for(request, viewer)
    run = svc.get_run(entity, project, run_id)
    record = lineage.of_run(svc, entity, project, run_id, direction=direction, depth=depth)
    base = "/projects/" + url_path(f"{run.entity}/{run.project}/runs/{run.id}")
    title = f"run {run.name or run.id}"
    return _page(request, viewer, record, title, base, f"{base}/lineage/graph", direction, depth)


@router.get("/projects/{entity}/{project}/runs/{run_id}/lineage/graph")
def run_graph(
    request: Request,
    viewer: Reader,
    entity: str,
    project: str,
    run_id: str,
    direction: Direction = "both",
    depth: Depth = DEFAULT_DEPTH,
) -> Response:
    svc = service_for(request, viewer)
    record = lineage.of_run(svc, entity, project, run_id, direction=direction, depth=depth)
    return JSONResponse(elements(record))

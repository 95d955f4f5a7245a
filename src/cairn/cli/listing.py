"""``cairn ls`` and ``cairn info``: what is stored, level by level.

``ls`` reads its path by how many parts it has: nothing lists projects; ``PROJECT`` (in the
default entity) or ``ENTITY/PROJECT`` lists collections; ``PROJECT/NAME`` or
``ENTITY/PROJECT/NAME`` lists versions; ``...NAME:VERSION`` (or an alias) lists files. Two parts
are ``PROJECT/NAME`` when the default entity's project holds that collection, else
``ENTITY/PROJECT``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

import cairn
from cairn.cli.output import JsonOption, col, emit, emit_one, human_size, human_time
from cairn.errors import NotFoundError
from cairn.sdk.api import Api, ArtifactCollection
from cairn.sdk.artifact import Artifact


def version_row(a: Artifact) -> dict[str, Any]:
    return {
        "path": f"{a.entity}/{a.project}/{a.name}",
        "version": a.version,
        "type": a.type,
        "aliases": list(a.aliases),
        "tags": list(a.tags),
        "files": a.file_count,
        "size": a.size,
        "digest": a.digest,
        "created_at": a.created_at,
        "state": a.state,
        "description": a.description,
        "metadata": a.metadata,
    }


def _projects(api: Api, as_json: bool) -> None:
    from cairn.sdk.projects import list_projects

    rows = [
        {
            "project": f"{p.entity}/{p.name}",
            "collections": p.collections,
            "visibility": p.visibility,
            "created_at": p.created_at.isoformat(),
        }
        for p in list_projects(api._backend)
    ]
    emit(
        rows,
        [
            col("project"),
            col("collections"),
            col("visibility"),
            col("created_at", "CREATED", human_time),
        ],
        as_json,
    )


def _collections(collections: list[ArtifactCollection], as_json: bool) -> None:
    rows = [
        {
            "name": c.name,
            "type": c.type,
            "kind": "sequence" if c.is_sequence() else "portfolio",
            "versions": len(c),
            "aliases": c.aliases,
            "tags": c.tags,
            "updated_at": c.updated_at,
        }
        for c in collections
    ]
    emit(
        rows,
        [
            col("name"),
            col("type"),
            col("kind"),
            col("versions"),
            col("aliases"),
            col("tags"),
            col("updated_at", "UPDATED", human_time),
        ],
        as_json,
    )


def _versions(collection: ArtifactCollection, as_json: bool) -> None:
    rows = [version_row(a) for a in collection.artifacts()]
    emit(
        rows,
        [
            col("version"),
            col("aliases"),
            col("tags"),
            col("files"),
            col("size", fmt=human_size),
            col("created_at", "CREATED", human_time),
            col("digest"),
        ],
        as_json,
    )


def _files(art: Artifact, as_json: bool) -> None:
    rows = [
        {"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref}
        for e in sorted(art.manifest.entries.values(), key=lambda e: e.path)
    ]
    emit(rows, [col("path"), col("size", fmt=human_size), col("digest"), col("ref")], as_json)


def _find(api: Api, entity: str, project: str, name: str) -> ArtifactCollection | None:
    try:
        found = api.artifact_collections(f"{entity}/{project}")
    except NotFoundError:
        return None
    return next((c for c in found if c.name == name), None)


def ls(
    path: Annotated[
        str | None,
        typer.Argument(
            help="Nothing (projects), [ENTITY/]PROJECT (collections), [ENTITY/]PROJECT/NAME "
            "(versions) or ...NAME:VERSION (files)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List projects, a project's collections, a collection's versions or a version's files."""
    api = cairn.Api()
    if path is None:
        _projects(api, as_json)
        return
    if ":" in path:
        _files(api.artifact(path), as_json)
        return
    parts = path.strip("/").split("/")
    if len(parts) == 1:
        _collections(api.artifact_collections(parts[0]), as_json)
    elif len(parts) == 2:
        found = _find(api, api.default_entity, parts[0], parts[1])
        if found is not None:
            _versions(found, as_json)
        else:
            _collections(api.artifact_collections(path), as_json)
    elif len(parts) == 3:
        found = _find(api, *parts)
        if found is None:
            raise NotFoundError(f"no collection {path!r}")
        _versions(found, as_json)
    else:
        raise typer.BadParameter("use at most ENTITY/PROJECT/NAME[:VERSION]")


def info(
    path: Annotated[str, typer.Argument(help="[[ENTITY/]PROJECT/]NAME[:VERSION or alias].")],
    as_json: JsonOption = False,
) -> None:
    """Show one version: its files, size, digest, aliases, tags, description and metadata."""
    art = cairn.Api().artifact(path)
    row = version_row(art)
    ttl = art.ttl
    row["ttl_days"] = None if ttl is None else ttl.total_seconds() / 86_400
    row["id"] = art.id
    emit_one(row, as_json, {"size": human_size, "created_at": human_time})


def register(app: typer.Typer) -> None:
    app.command("ls")(ls)
    app.command("info")(info)

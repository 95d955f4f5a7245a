"""``cairn``: work with artifacts from the shell (and, with the server extra, run a server).

Sub-command groups live in their own modules and are registered here; each calls the SDK (or,
for ``cairn server``, starts ``cairn.server``) and never reaches into the core directly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import cairn
from cairn.errors import CairnError, PermissionDeniedError

app = typer.Typer(
    name="cairn",
    help="Versioning for datasets and models.",
    no_args_is_help=True,
    add_completion=False,
)


def fail(exc: CairnError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print Cairn's version."""
    typer.echo(cairn.__version__)


@app.command()
def put(
    path: Annotated[Path, typer.Argument(help="A file or folder to log.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Artifact name.")],
    type: Annotated[str, typer.Option("--type", "-t", help="Artifact type.")] = "dataset",
    project: Annotated[str | None, typer.Option(help="Project (default: CAIRN_PROJECT).")] = None,
    alias: Annotated[list[str] | None, typer.Option("--alias", "-a", help="Alias to set.")] = None,
    description: Annotated[str | None, typer.Option(help="Description.")] = None,
) -> None:
    """Log a file or folder as a new version of an artifact."""
    try:
        art = cairn.Artifact(name, type=type, description=description)
        if path.is_dir():
            art.add_dir(str(path))
        else:
            art.add_file(str(path))
        with cairn.init(project=project, job_type="cli-put") as run:
            run.log_artifact(art, aliases=alias or [])
    except CairnError as exc:
        raise fail(exc) from None
    typer.echo(f"{art.qualified_name} {art.digest} ({art.file_count} files)")


@app.command()
def get(
    path: Annotated[str, typer.Argument(help="[[entity/]project/]name[:alias]")],
    root: Annotated[Path | None, typer.Option(help="Where to put the files.")] = None,
) -> None:
    """Download a version (default: ./artifacts/<name>:<version>)."""
    try:
        art = cairn.Api().artifact(path)
        out = art.download(root=str(root) if root else None)
    except CairnError as exc:
        raise fail(exc) from None
    typer.echo(out)


@app.command("ls")
def list_(
    path: Annotated[
        str | None,
        typer.Argument(help="[entity/]project, or an artifact path with ':' to list its files"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List collections of a project, or files of a version."""
    api = cairn.Api()
    try:
        if path is not None and ":" in path:
            art = api.artifact(path)
            rows = [{"path": f.name, "size": f.size, "digest": f.digest} for f in art.files()]
        else:
            rows = [
                {"name": c.name, "type": c.type, "versions": len(c)}
                for c in api.artifact_collections(path)
            ]
    except CairnError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo("  ".join(str(v) for v in r.values()))


@app.command()
def gc(
    pending_older_than: Annotated[
        float, typer.Option(help="Drop PENDING versions idle for more than this many hours.")
    ] = 24.0,
    grace: Annotated[
        float,
        typer.Option(
            help="Hours a blob must stay unused (and a retired pack unread) before it goes."
        ),
    ] = 24.0,
    repack_below: Annotated[
        float, typer.Option(help="Rewrite packs whose live fraction is under this (0 to 1).")
    ] = 0.5,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Only list the versions whose TTL has passed; change nothing."
        ),
    ] = False,
) -> None:
    """Clean up: delete versions whose TTL has passed, drop abandoned logs, then free the
    space of blobs no version uses.

    Blobs go in two runs at least --grace apart: the first finds them unused, a later one
    deletes them if they still are. Run it daily (cron). Expiring versions and freeing blobs
    need the embedded store or a server admin; others only drop their own abandoned logs.
    A version linked into a portfolio or registry does not expire while it is linked.
    """
    from datetime import timedelta

    from cairn.sdk import context

    if pending_older_than < 0 or grace < 0:
        raise typer.BadParameter("--pending-older-than and --grace must be >= 0")
    if not 0 <= repack_below <= 1:
        raise typer.BadParameter("--repack-below is a fraction from 0 to 1")
    try:
        backend = context.backend_for(context.settings())
        try:
            expired = backend.expire_versions(dry_run=dry_run)
        except PermissionDeniedError:
            typer.echo("versions not expired: that needs a server admin")
            expired = []
        verb = "would expire" if dry_run else "expired"
        typer.echo(f"{verb} {len(expired)} version(s) whose TTL has passed")
        for v in expired:
            typer.echo(f"  {v.entity}/{v.project}/{v.collection}:{v.version}")
        if dry_run:
            return
        dropped = backend.collect_garbage(pending_older_than=timedelta(hours=pending_older_than))
        typer.echo(f"dropped {dropped} abandoned pending version(s)")
        try:
            report = backend.reclaim_storage(
                grace=timedelta(hours=grace), repack_below=repack_below
            )
        except PermissionDeniedError:
            typer.echo("blobs not reclaimed: that needs a server admin")
            return
    except CairnError as exc:
        raise fail(exc) from None
    typer.echo(
        f"blobs: {report.condemned} newly unused, {report.blobs_deleted} deleted; "
        f"packs: {report.packs_rewritten} rewritten, {report.packs_deleted} deleted; "
        f"{_size(report.bytes_freed)} freed"
    )


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


from cairn.cli import server_cmds  # noqa: E402 - registers server, user, team, key, login

server_cmds.register(app)
app.add_typer(__import__("cairn.cli.cache_cmds").cli.cache_cmds.app)  # cairn cache …

if __name__ == "__main__":  # pragma: no cover
    app()

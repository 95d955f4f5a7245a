"""``cairn gc``: expire versions past their TTL, drop abandoned logs, free unused blobs."""

from __future__ import annotations

from typing import Annotated

import typer

from cairn.cli.output import human_size
from cairn.errors import PermissionDeniedError


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
        report = backend.reclaim_storage(grace=timedelta(hours=grace), repack_below=repack_below)
    except PermissionDeniedError:
        typer.echo("blobs not reclaimed: that needs a server admin")
        return
    typer.echo(
        f"blobs: {report.condemned} newly unused, {report.blobs_deleted} deleted; "
        f"packs: {report.packs_rewritten} rewritten, {report.packs_deleted} deleted; "
        f"{human_size(report.bytes_freed)} freed"
    )


def register(app: typer.Typer) -> None:
    app.command("gc")(gc)

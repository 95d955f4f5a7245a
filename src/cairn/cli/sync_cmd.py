"""``cairn sync``: push what was logged offline (to the embedded store) up to the server."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cairn.cli.output import JsonOption


def sync(
    project: Annotated[
        list[str] | None,
        typer.Argument(help="Only these projects of the embedded store (default: all)."),
    ] = None,
    entity: Annotated[
        str | None, typer.Option(help="Server entity to push to (default: your user).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Push versions logged with mode="offline" (the embedded store) to the logged-in server,
    with their aliases, tags and metadata. Safe to re-run: versions already there are skipped."""
    from cairn.sdk.sync import Synced
    from cairn.sdk.sync import sync as push

    def say(s: Synced) -> None:
        if not as_json:
            typer.echo(f"{'pushed' if s.pushed else 'already there'}: {s.source} -> {s.target}")

    done = push(entity=entity, projects=project or None, report=say)
    if as_json:
        rows = [{"source": s.source, "target": s.target, "pushed": s.pushed} for s in done]
        typer.echo(json.dumps(rows, indent=2))
        return
    pushed = sum(s.pushed for s in done)
    typer.echo(f"{pushed} version(s) pushed, {len(done) - pushed} already there")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)

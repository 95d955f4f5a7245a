"""``cairn alias add|rm`` and ``cairn tag add|rm``: move a version's names and labels."""

from __future__ import annotations

from typing import Annotated

import typer

import cairn

alias_app = typer.Typer(help="Add or remove a version's aliases.", no_args_is_help=True)
tag_app = typer.Typer(help="Add or remove a version's tags.", no_args_is_help=True)

PathArg = Annotated[str, typer.Argument(help="[[ENTITY/]PROJECT/]NAME:VERSION (or an alias).")]


def _change(path: str, names: list[str], field: str, add: bool) -> None:
    art = cairn.Api().artifact(path)
    have = list(getattr(art, field))
    want = (
        [*have, *(n for n in names if n not in have)]
        if add
        else [n for n in have if n not in names]
    )
    setattr(art, field, want)
    art.save()
    shown = ", ".join(getattr(art, field)) or "none"
    typer.echo(f"{field} of {art.qualified_name}: {shown}")


@alias_app.command("add")
def alias_add(
    path: PathArg,
    aliases: Annotated[list[str], typer.Argument(help="Aliases (moved from other versions).")],
) -> None:
    """Point aliases at a version (an alias names one version of a collection at a time)."""
    _change(path, aliases, "aliases", add=True)


@alias_app.command("rm")
def alias_rm(
    path: PathArg, aliases: Annotated[list[str], typer.Argument(help="Aliases to remove.")]
) -> None:
    """Remove aliases from a version."""
    _change(path, aliases, "aliases", add=False)


@tag_app.command("add")
def tag_add(path: PathArg, tags: Annotated[list[str], typer.Argument(help="Tags to add.")]) -> None:
    """Add tags to a version."""
    _change(path, tags, "tags", add=True)


@tag_app.command("rm")
def tag_rm(
    path: PathArg, tags: Annotated[list[str], typer.Argument(help="Tags to remove.")]
) -> None:
    """Remove tags from a version."""
    _change(path, tags, "tags", add=False)


def register(app: typer.Typer) -> None:
    app.add_typer(alias_app, name="alias")
    app.add_typer(tag_app, name="tag")

"""``cairn``: work with artifacts from the shell (and, with the server extra, run a server).

Each group of commands lives in a module named for what it holds and registers itself here;
every command calls the SDK (or, for ``cairn server``, starts ``cairn.server``) and never
reaches into the core. Errors are turned into one line in one place,
:class:`cairn.cli.errors.CairnGroup`.

* :mod:`~cairn.cli.listing`: ``ls``, ``info``
* :mod:`~cairn.cli.artifact_cmds`: ``put``, ``get``, ``verify``, ``rm``, ``diff``, ``lineage``,
  ``link``
* :mod:`~cairn.cli.label_cmds`: ``alias``, ``tag``
* :mod:`~cairn.cli.sync_cmd`: ``sync``
* :mod:`~cairn.cli.session_cmds`: ``login``, ``logout``, ``whoami``
* :mod:`~cairn.cli.account_cmds`: ``user``, ``team``, ``key``
* :mod:`~cairn.cli.maintenance`: ``gc``
* :mod:`~cairn.cli.server_cmds`: ``server``
"""

from __future__ import annotations

from typing import Annotated

import typer

import cairn
from cairn.cli import (
    account_cmds,
    artifact_cmds,
    cache_cmds,
    label_cmds,
    listing,
    maintenance,
    server_cmds,
    session_cmds,
    sync_cmd,
)
from cairn.cli.errors import DEBUG_KEY, CairnGroup

app = typer.Typer(
    name="cairn",
    cls=CairnGroup,
    help="Versioning for datasets and models.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(cairn.__version__)
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="CAIRN_DEBUG", help="Show errors with their traceback."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print Cairn's version."
        ),
    ] = False,
) -> None:
    """Versioning for datasets and models."""
    ctx.meta[DEBUG_KEY] = debug


@app.command()
def version() -> None:
    """Print Cairn's version."""
    typer.echo(cairn.__version__)


for _module in (
    listing,
    artifact_cmds,
    label_cmds,
    sync_cmd,
    session_cmds,
    account_cmds,
    maintenance,
    cache_cmds,
    server_cmds,
):
    _module.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()

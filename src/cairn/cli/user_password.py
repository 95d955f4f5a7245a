"""``cairn user password NAME``: set the password a user signs in to the web UI with."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cairn.cli.server_cmds import DbOption, _accounts, _fail
from cairn.errors import CairnError


def user_password(
    name: Annotated[str, typer.Argument(help="User name.")],
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from standard input.")
    ] = False,
    clear: Annotated[
        bool, typer.Option("--clear", help="Remove the password (keys still work).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Set (or --clear) a user's web UI password; their password sessions end."""
    password: str | None = None
    if not clear:
        if stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        _accounts(db).set_password(name, password)
    except CairnError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{'cleared' if clear else 'set'} the password of {name!r}")

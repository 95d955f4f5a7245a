"""``cairn user password NAME --db URL``: set the password a user signs in to the web UI with.

It works on the server's database (an explicit ``--db``), as an operator does when setting a
server up: passwords are not managed over HTTP, where API keys already serve.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cairn.cli.account_cmds import DbOption, _local
from cairn.cli.errors import fail
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
    """Set (or --clear) a user's web UI password on a server database; their password
    sessions end."""
    if db is None:
        fail(
            "a password is set on the server's database: pass --db (sqlite:///… or postgresql://…)"
        )
    password: str | None = None
    if not clear:
        if stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        _local(db).set_password(name, password)
    except CairnError as exc:
        fail(str(exc))
    typer.echo(f"{'cleared' if clear else 'set'} the password of {name!r}")

"""The CLI's one error boundary: a Cairn error or an OS error is one line on stderr and exit
status 1; ``--debug`` (or ``CAIRN_DEBUG=1``) lets it through with its traceback instead."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from cairn.errors import CairnError

DEBUG_KEY = "cairn.debug"


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (the rest needs ``--debug``)."""
    text = str(exc).strip() or type(exc).__name__
    first, *rest = text.splitlines()
    return f"{first} (…; --debug for the rest)" if rest else first


def fail(message: str) -> NoReturn:
    """Stop the command with ``error: message`` on stderr and exit status 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


class CairnGroup(TyperGroup):
    """The top-level group: every sub-command runs inside :meth:`invoke`, so this is the one
    place their errors are turned into a line."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (CairnError, OSError) as exc:
            if ctx.meta.get(DEBUG_KEY):
                raise
            typer.echo(f"error: {one_line(exc)}", err=True)
            ctx.exit(1)

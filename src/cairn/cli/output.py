"""How listings print: a table with headers for people, ``--json`` for programs.

JSON rows keep raw values (sizes in bytes, times as ISO-8601 UTC); the table shows them for
reading (``1.2 MiB``, ``2025-01-31 14:02``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_time(value: str | datetime | None) -> str:
    if value is None or value == "":
        return "-"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.strftime("%Y-%m-%d %H:%M")


def _listed(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}:{v}" for k, v in value.items()) or "-"
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


Column = tuple[str, str, Callable[[Any], str]]  # (key, header, format)


def col(key: str, header: str | None = None, fmt: Callable[[Any], str] = _listed) -> Column:
    return (key, header or key.upper(), fmt)


def console() -> Console:
    # Off a terminal (a pipe, a CI log) rows must not be cut to 80 columns.
    # Names are data, never markup: a path like "runs/[2024]" prints as it is.
    return Console(width=None if sys.stdout.isatty() else 200, highlight=False, markup=False)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[Column], as_json: bool) -> None:
    """Print ``rows`` as JSON (every key) or as a table of ``columns``."""
    if as_json:
        typer.echo(json.dumps(list(rows), indent=2, default=str))
        return
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for _, header, _ in columns:
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(*(Text(fmt(r.get(key))) for key, _, fmt in columns))
    console().print(table)


def emit_one(row: dict[str, Any], as_json: bool, fmt: dict[str, Callable[[Any], str]]) -> None:
    """Print one record as JSON or as ``key: value`` lines."""
    if as_json:
        typer.echo(json.dumps(row, indent=2, default=str))
        return
    width = max(len(k) for k in row)
    for k, v in row.items():
        shown = fmt[k](v) if k in fmt else _listed(v)
        if isinstance(v, dict) and k == "metadata":
            shown = json.dumps(v, default=str) if v else "-"
        typer.echo(f"{k + ':':<{width + 1}} {shown}")

"""``cairn cache``: see and bound the local object cache (``CAIRN_CACHE_DIR``).

::

    cairn cache ls [--limit N] [--json]     objects, most recently used first, and the totals
    cairn cache cleanup SIZE [--json]       evict least recently used objects down to SIZE
    cairn cache verify [--json]             re-hash every object; delete the damaged ones

``CAIRN_CACHE_MAX`` (or ``cache_max`` in the config file) applies the same eviction after every
download. Eviction never removes an object another process is reading or linking
(:mod:`cairn.cache.quota`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cairn.cache import ObjectCache
from cairn.cache import quota as cache_quota
from cairn.errors import CairnError
from cairn.sizes import format_size, parse_size

app = typer.Typer(
    name="cache",
    help="Inspect and trim the local object cache.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _open() -> tuple[ObjectCache, int | None]:
    from cairn.sdk import context

    try:
        settings = context.settings()
    except CairnError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    return context.cache_for(settings), settings.cache_max


def _when(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9).astimezone().strftime("%Y-%m-%d %H:%M")


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@app.command("ls")
def list_objects(
    limit: Annotated[
        int, typer.Option(help="Show this many objects, most recently used first (0: all).")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """List the cached objects and the cache's totals."""
    cache, cache_max = _open()
    objects = cache_quota.scan(cache)
    used = cache_quota.usage(cache, objects)
    newest = list(reversed(objects))
    shown = newest if limit <= 0 else newest[:limit]
    if as_json:
        _print_json(
            {
                "root": str(cache.root),
                "objects": used.objects,
                "bytes": used.bytes,
                "max_bytes": cache_max,
                "tmp_files": used.tmp_files,
                "tmp_bytes": used.tmp_bytes,
                "entries": [
                    {
                        "digest": o.hexdigest,
                        "size": o.size,
                        "last_used": dt.datetime.fromtimestamp(
                            o.last_used_ns / 1e9, dt.UTC
                        ).isoformat(),
                    }
                    for o in shown
                ],
            }
        )
        return
    table = Table("digest (MD5)", "size", "last used", title=str(cache.root))
    for o in shown:
        table.add_row(o.hexdigest, format_size(o.size), _when(o.last_used_ns))
    console = Console()
    console.print(table)
    bound = format_size(cache_max) if cache_max is not None else "no limit (CAIRN_CACHE_MAX)"
    more = f" ({len(objects) - len(shown)} more not shown)" if len(shown) < len(objects) else ""
    console.print(
        f"{used.objects} object(s), {format_size(used.bytes)} of {bound}{more}; "
        f"{used.tmp_files} temporary file(s), {format_size(used.tmp_bytes)}",
        highlight=False,
    )


@app.command()
def cleanup(
    size: Annotated[str, typer.Argument(help="Keep at most this much, e.g. 10GB, 512MiB, 0.")],
    as_json: JsonOption = False,
) -> None:
    """Evict the least recently used objects until the cache holds at most SIZE.

    Waits while other processes are downloading from the cache; also deletes temporary files
    of killed processes.
    """
    try:
        limit = parse_size(size, "SIZE")
    except CairnError as exc:
        raise typer.BadParameter(str(exc)) from None
    cache, _ = _open()
    done = cache_quota.evict(cache, limit, wait=True)
    assert done is not None  # waiting, eviction always runs
    if as_json:
        _print_json(
            {"removed": done.removed, "freed": done.freed, "bytes": done.left, "swept": done.swept}
        )
        return
    typer.echo(
        f"removed {done.removed} object(s), freed {format_size(done.freed)}; "
        f"the cache holds {format_size(done.left)}"
        + (f"; {done.swept} temporary file(s) of killed processes deleted" if done.swept else "")
    )


@app.command()
def verify(as_json: JsonOption = False) -> None:
    """Re-hash every cached object; delete the damaged ones (exit status 1 if any).

    A deleted object is fetched again when a download next needs it.
    """
    cache, _ = _open()
    checked, damaged = cache_quota.verify(cache)
    if as_json:
        _print_json({"checked": checked, "damaged": damaged})
    else:
        typer.echo(f"checked {checked} object(s): {len(damaged)} damaged")
        for h in damaged:
            typer.echo(f"  deleted {h}")
    if damaged:
        raise typer.Exit(code=1)


def register(root: typer.Typer) -> None:
    root.add_typer(app)

"""``cairn login``, ``logout`` and ``whoami``: which store the SDK and CLI talk to, as whom.

``login`` checks a key against a server and saves both in the config file the SDK reads
(:func:`cairn.config.write_config` keeps the file's other keys, tables and comments);
``logout`` removes them again, so the embedded store is used. ``CAIRN_BASE_URL=""`` does the
same for one command or session without touching the file.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cairn.cli.output import JsonOption


def login(
    host: Annotated[str, typer.Option("--host", help="Server URL, e.g. http://127.0.0.1:8080")],
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="CAIRN_API_KEY", help="API key (asked for if not given)."),
    ] = None,
) -> None:
    """Check an API key against a server and store both for the SDK and CLI."""
    from cairn.backend.http import HttpBackend
    from cairn.config import Settings, default_config_path, write_config

    if key is None:
        key = typer.prompt("API key", hide_input=True)
    base_url = host.rstrip("/")
    backend = HttpBackend(Settings.resolve(base_url=base_url, api_key=key))
    try:
        name = backend.default_entity()
    finally:
        backend.close()
    path = default_config_path()
    write_config(path, {"base_url": base_url, "api_key": key})
    typer.echo(f"logged in to {base_url} as {name!r} (saved in {path})")


def logout() -> None:
    """Forget the saved server URL and API key: the embedded store is used again."""
    from cairn.config import default_config_path, read_config_file, write_config

    path = default_config_path()
    saved = read_config_file(path)
    if "base_url" not in saved and "api_key" not in saved:
        typer.echo(f"not logged in (nothing saved in {path})")
        return
    write_config(path, {}, remove=("base_url", "api_key"))
    typer.echo(f"logged out of {saved.get('base_url', 'the server')} (removed from {path})")


def whoami(as_json: JsonOption = False) -> None:
    """Show the store the CLI and SDK use (a server or the embedded one) and your user."""
    import cairn

    api = cairn.Api()
    s = api.settings
    row = {
        "user": api.default_entity,
        "store": s.base_url or "embedded",
        "data_dir": None if s.base_url else str(s.data_dir),
        "entity": s.entity,
        "project": s.project,
    }
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    where = s.base_url or f"the embedded store in {s.data_dir}"
    typer.echo(f"{row['user']} on {where}")


def register(app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("whoami")(whoami)

"""The CLI documents itself: every command and option has help text, and every one appears in
the README's "Command line" section, found by walking the command tree typer builds (so a new
command or option fails here until it is described)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from cairn.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"
# Options click or typer add to every command or to the root, documented by --help itself.
BUILTIN = {"--help", "--install-completion", "--show-completion"}


# Typer may build its commands on its own copy of click: duck-typed, not isinstance.
Command = Any


def is_group(cmd: Command) -> bool:
    return hasattr(cmd, "commands")


def is_option(param: Any) -> bool:
    return getattr(param, "param_type_name", None) == "option"


def walk(cmd: Command, path: str = "") -> Iterator[tuple[str, Command]]:
    if path:
        yield path, cmd
    if is_group(cmd):
        for name, sub in sorted(cmd.commands.items()):
            yield from walk(sub, f"{path} {name}".strip())


def options(cmd: Command) -> list[str]:
    return [
        max(p.opts, key=len)
        for p in cmd.params
        if is_option(p) and max(p.opts, key=len) not in BUILTIN
    ]


def section() -> str:
    text = README.read_text()
    start = text.index("\n## Command line\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def entries() -> dict[str, str]:
    """``cairn PATH`` → its README bullet (the bullet's lines, up to the next bullet)."""
    found: dict[str, str] = {}
    for bullet in re.split(r"\n(?=- `cairn )", section()):
        m = re.match(r"- `cairn ([a-z -]+?)(?: [A-Z\[]|`)", bullet)
        if m:
            found[m.group(1).strip()] = bullet
    return found


ROOT = typer.main.get_command(app)
COMMANDS = list(walk(ROOT))


def test_the_walk_finds_the_commands() -> None:
    names = {path for path, _ in COMMANDS}
    assert {"ls", "put", "get", "alias add", "key revoke", "server migrate", "sync"} <= names


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, cmd in COMMANDS:
        if not (cmd.help or cmd.short_help or "").strip():
            missing.append(f"cairn {path}")
        for p in cmd.params:
            if not (getattr(p, "help", None) or "").strip() and p.name != "help":
                missing.append(f"cairn {path} {p.name}")
    for p in ROOT.params:
        if not (getattr(p, "help", None) or "").strip():
            missing.append(f"cairn {p.name}")
    assert not missing, missing


def test_every_command_and_option_is_in_the_readme() -> None:
    documented = entries()
    missing = []
    for path, cmd in COMMANDS:
        if is_group(cmd) and not cmd.params:
            continue  # a group of sub-commands (`cairn alias`): its sub-commands are listed
        bullet = documented.get(path)
        if bullet is None:
            missing.append(f"cairn {path}")
            continue
        missing += [f"cairn {path} {o}" for o in options(cmd) if f"`{o}" not in bullet]
    root = section()
    missing += [o for o in options(ROOT) if f"`{o}`" not in root]
    assert not missing, "not in README's Command line section: " + ", ".join(missing)


def test_the_readme_lists_no_command_that_is_gone() -> None:
    names = {path for path, _ in COMMANDS}
    assert set(entries()) - names == set()

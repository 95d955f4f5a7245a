"""Running the CLI in process, as a user would from the shell."""

from __future__ import annotations

import json
from typing import Any

from click.testing import Result
from typer.testing import CliRunner

from cairn.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def cli(*args: str) -> str:
    """Run a command that must succeed; its standard output."""
    result = invoke(*args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def cli_json(*args: str) -> Any:
    """Run a listing with ``--json`` and parse what it printed."""
    return json.loads(cli(*args, "--json"))


def fails(*args: str) -> str:
    """Run a command that must fail with one line on stderr and exit status 1; that line."""
    result = invoke(*args)
    assert result.exit_code == 1, (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]

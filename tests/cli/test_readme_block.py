"""The README's "Command line" example runs as written, against a server (it ends with
``cairn sync``, which needs one), and does what its comments say."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.backends import configure
from tests.cli.helpers import cli
from tests.conftest import write

README = Path(__file__).resolve().parents[2] / "README.md"


def example() -> list[list[str]]:
    text = README.read_text()
    start = text.index("\n## Command line\n")
    block = re.search(r"```bash\n(.*?)```", text[start:], re.S)
    assert block is not None
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    return [shlex.split(line)[1:] for line in lines if line]


def test_the_command_line_example_runs(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    configure("server-sqlite", request, monkeypatch)
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "bike-dataset" / "trips.csv", "id,km\n1,3\n")
    write(tmp_path / "bike-dataset" / "README.md", "bikes\n")
    write(tmp_path / "bikes-2025" / "trips.csv", "id,km\n1,3\n2,5\n")
    outputs = [cli(*argv) for argv in example()]
    assert "bikes/bike-dataset:v1 logged" in outputs[1]
    assert sorted(p.name for p in (tmp_path / "csv").rglob("*") if p.is_file()) == ["trips.csv"]
    assert "ok: 2 file(s) match" in outputs[7]
    assert "0 added, 1 removed, 1 changed" in outputs[10]

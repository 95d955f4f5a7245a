"""``cairn cache ls | cleanup SIZE | verify`` against a real cache filled by downloads."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cairn as wandb
from cairn.cli.main import app
from cairn.sdk import context
from tests.conftest import write
from tests.sdk.helpers import log

runner = CliRunner()


@pytest.fixture
def filled(tmp_path: Path, project: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """A cache holding exactly what one download put there."""
    files = {f"f{i}.bin": os.urandom(100_000 + i) for i in range(3)}
    for name, data in files.items():
        write(tmp_path / "src" / name, data)
    art = wandb.Artifact("cached", type="dataset")
    art.add_dir(str(tmp_path / "src"))
    log(project, art)
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "reader-cache"))
    context.reset()
    wandb.Api().artifact(f"{project}/cached:v0").download(root=str(tmp_path / "out"))
    return files


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_ls_lists_objects_and_totals(filled: dict[str, bytes]) -> None:
    code, out = cli("cache", "ls", "--json")
    assert code == 0, out
    listed = json.loads(out)
    digests = {hashlib.md5(d).hexdigest() for d in filled.values()}
    assert {e["digest"] for e in listed["entries"]} == digests
    assert listed["bytes"] == sum(len(d) for d in filled.values())
    code, out = cli("cache", "ls")
    assert code == 0 and "object(s)" in out


def test_cleanup_trims_to_the_size_given(filled: dict[str, bytes]) -> None:
    code, out = cli("cache", "cleanup", "150KB", "--json")
    assert code == 0, out
    done = json.loads(out)
    assert done["removed"] == 2 and done["bytes"] in {len(d) for d in filled.values()}
    assert json.loads(cli("cache", "ls", "--json")[1])["bytes"] == done["bytes"]
    code, out = cli("cache", "cleanup", "0")
    assert code == 0 and "the cache holds 0 B" in out
    assert cli("cache", "cleanup", "lots")[0] == 2  # not a size: a usage error


def test_verify_deletes_damaged_objects(filled: dict[str, bytes]) -> None:
    assert json.loads(cli("cache", "verify", "--json")[1])["damaged"] == []
    victim = hashlib.md5(filled["f1.bin"]).hexdigest()
    path = Path(os.environ["CAIRN_CACHE_DIR"]) / "objects" / "md5" / victim[:2] / victim[2:]
    path.chmod(0o644)
    path.write_bytes(b"bit rot")
    code, out = cli("cache", "verify", "--json")
    assert code == 1
    assert json.loads(out)["damaged"] == [victim]
    assert not path.exists()

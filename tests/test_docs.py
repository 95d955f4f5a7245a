"""The README's examples run as written (STYLE.md: docs are checked by tests)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import cairn
from tests.conftest import write

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_the_two_commands() -> None:
    first = blocks("bash")[0].strip().splitlines()
    assert first[0].startswith("pip install -e . && python examples/quickstart.py")
    assert "python -m pytest" in first[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m pytest" in ci


def test_readme_python_example_runs(tmp_path: Path) -> None:
    write(tmp_path / "bicycle-data.h5", os.urandom(2048))
    write(tmp_path / "images" / "cat.png", b"cat")
    write(tmp_path / "images" / "dog.png", b"dog")
    code = blocks("python")[0]
    exec(compile(code, "README.md", "exec"), {})
    art = cairn.Api().artifact("bikes/bike-dataset:prod")
    assert art.version == "v0"
    assert art.description == "new"
    assert art.metadata == {"rows": 10, "k": 1}
    assert sorted(art.manifest.entries) == [
        "bicycle-data.h5",
        "images/cat.png",
        "images/dog.png",
        "notes.txt",
    ]
    assert (tmp_path / "artifacts" / "bike-dataset:v0" / "notes.txt").read_text() == "hello"


def test_readme_registry_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    write(Path("model.pt"), os.urandom(512))
    (code,) = [b for b in blocks("python") if ".link(" in b]
    exec(compile(code, "README.md", "exec"), {})
    assert "mnist-classifier:v0 is mnist-cnn:v0" in capsys.readouterr().out
    linked = cairn.Api().artifact("wandb-registry-model/mnist-classifier:production")
    assert linked.source_name == "mnist-cnn:v0"
    assert linked.source_artifact.ttl == timedelta(days=30)
    assert (Path("artifacts") / "mnist-classifier:v0" / "model.pt").read_bytes() == Path(
        "model.pt"
    ).read_bytes()


def test_readme_training_script_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = [b for b in blocks("python") if "run.log(" in b]
    assert "log_artifact(" in code
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "finished 0.2 0.9"
    assert lines[1] == "{'_step': 4, 'loss': 0.2}"
    assert lines[2].startswith("['") and lines[3] == "True"
    run = cairn.Api().runs("mnist")[0]
    assert [r["epoch"] for r in run.scan_history()] == [0, 1, 2, 3, 4]
    assert run.config == {"lr": 0.01, "epochs": 5, "layers": [64, 32]}


def test_readme_lineage_history_and_diff_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    (code,) = [b for b in blocks("python") if ".lineage(" in b]
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "2 version " in printed and "/bikes/raw-rides:v0" in printed
    assert "alias.added {'alias': 'prod', 'from_version': None}" in printed
    assert "0 0 1 0" in printed
    assert "ValueChange(key='acc', status='changed', old=0.91, new=0.93)" in printed
    assert "changed weights.txt" in printed


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(
        CAIRN_DIR=str(tmp_path / "store"),
        CAIRN_CACHE_DIR=str(tmp_path / "cache"),
        CAIRN_CONFIG=str(tmp_path / "none.toml"),
    )
    return env


def test_readme_shell_commands_run(tmp_path: Path) -> None:
    write(tmp_path / "data" / "a.txt", "a")
    write(tmp_path / "data" / "sub" / "b.txt", "b")
    cli = [line.split("#")[0].strip() for line in blocks("bash")[1].splitlines()]
    outputs = []
    for line in filter(None, cli):
        argv = shlex.split(line)
        assert argv[0] == "cairn"
        done = subprocess.run(
            [sys.executable, "-m", "cairn.cli", *argv[1:]],
            cwd=tmp_path,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "/bikes/bike-dataset:v0" in outputs[0]
    assert "bike-dataset" in outputs[1]
    assert "sub/b.txt" in outputs[2]
    assert (tmp_path / "bikes" / "sub" / "b.txt").read_text() == "b"


@pytest.mark.slow
def test_quickstart_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "bike-dataset:v1" in done.stdout
    assert "(verified)" in done.stdout
    assert "baseline is v0; latest is v1, used by ['train'] runs" in done.stdout

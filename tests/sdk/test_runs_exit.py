"""A script that never calls ``finish()`` still records how it ended (the exit hook)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import cairn as wandb
from tests.conftest import CairnEnv


def _script(cairn_env: CairnEnv, project: str, body: str) -> int:
    code = textwrap.dedent(
        f"""
        import cairn as wandb
        run = wandb.init(project={project!r}, id="script")
        for i in range(3):
            wandb.log({{"i": i}})
        """
    ) + textwrap.dedent(body)
    script = Path(cairn_env.work) / "train.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    return done.returncode


def test_a_script_that_ends_finishes_its_run(cairn_env: CairnEnv, project: str) -> None:
    assert _script(cairn_env, project, "") == 0
    got = wandb.Api().run(f"{project}/script")
    assert (got.state, got.exit_code) == ("finished", 0)
    assert [r["i"] for r in got.scan_history()] == [0, 1, 2]


def test_an_uncaught_exception_fails_its_run(cairn_env: CairnEnv, project: str) -> None:
    assert _script(cairn_env, project, "raise SystemError('boom')") == 1
    got = wandb.Api().run(f"{project}/script")
    assert (got.state, got.exit_code) == ("failed", 1)
    assert [r["i"] for r in got.scan_history()] == [0, 1, 2]

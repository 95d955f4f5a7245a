"""The official ``wandb`` client against ``cairn server``, in subprocesses.

``wandb`` (pinned: :data:`WANDB_VERSION`) lives in a venv of its own, made once per session
under a temporary folder — or reused from ``$CAIRN_WANDB_VENV`` if that names one (it is made
there if missing, so a CI cache can keep it). Each test gets a server of each kind
(:mod:`tests.backends`: ``server-sqlite`` with a blob folder, ``server-postgres-s3`` with
SeaweedFS), a fresh user and key, and :class:`WandbClient`, which runs a Python script with the
venv's interpreter. Everything the client writes (settings, cache, staging, artifacts, run
folders, ``~``) is under the test's temporary folder; telemetry, error reporting, git and code
capture are off, and the only URL it knows is the Cairn server's.

Select these tests with ``-m wandb_client``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import backends

WANDB_VERSION = "0.31.0"
VENV_ENV = "CAIRN_WANDB_VENV"
KINDS = ["server-sqlite", "server-postgres-s3"]
SCRIPT_TIMEOUT = 240
RESULT_MARK = "CAIRN-RESULT:"

# Prepended to every script: `emit(obj)` hands a JSON result back to the test.
PRELUDE = f"""
import json as _json, sys as _sys
def emit(obj):
    print({RESULT_MARK!r} + _json.dumps(obj, default=str), flush=True)
"""


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _ensure_venv(venv: Path) -> Path:
    python = _venv_python(venv)
    if python.exists():
        check = subprocess.run(
            [str(python), "-c", "import boto3, wandb; print(wandb.__version__)"],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode == 0 and check.stdout.strip() == WANDB_VERSION:
            return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"wandb=={WANDB_VERSION}",
            "boto3",  # for the client's s3:// references
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        backends.unavailable(f"could not install wandb=={WANDB_VERSION}: {done.stderr[-2000:]}")
    return python


@pytest.fixture(scope="session")
def wandb_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a venv holding the pinned wandb client."""
    given = os.environ.get(VENV_ENV)
    venv = Path(given) if given else tmp_path_factory.mktemp("wandb-venv") / "venv"
    return _ensure_venv(venv)


@dataclass
class WandbResult:
    returncode: int
    stdout: str
    stderr: str
    results: list[Any]

    @property
    def result(self) -> Any:
        assert self.results, f"the script emitted nothing\n{self.output}"
        return self.results[-1]

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}"


@dataclass
class WandbClient:
    """One user of one server, able to run wandb scripts as them."""

    python: Path
    server: backends.RunningServer
    kind: str
    api_key: str
    entity: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        home = self.home
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
            "WANDB_BASE_URL": self.server.url,
            "WANDB_API_KEY": self.api_key,
            "WANDB_MODE": "online",
            "WANDB_DIR": str(home / "wandb-dir"),
            "WANDB_CACHE_DIR": str(home / "wandb-cache"),
            "WANDB_CONFIG_DIR": str(home / "wandb-config"),
            "WANDB_DATA_DIR": str(home / "wandb-data"),
            "WANDB_ARTIFACT_DIR": str(home / "wandb-artifacts"),
            "WANDB_DISABLE_CODE": "true",
            "WANDB_DISABLE_GIT": "true",
            "WANDB_ERROR_REPORTING": "false",
            "WANDB_SILENT": "true",
            "WANDB_CONSOLE": "off",
            "WANDB_X_DISABLE_STATS": "true",
            "WANDB__DISABLE_STATS": "true",
            "WANDB_X_DISABLE_META": "true",
            "WANDB_X_DISABLE_MACHINE_INFO": "true",
            "WANDB_X_SAVE_REQUIREMENTS": "false",
            "WANDB_DISABLE_JOB_CREATION": "true",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        for key in (
            "WANDB_DIR",
            "WANDB_CACHE_DIR",
            "WANDB_CONFIG_DIR",
            "WANDB_DATA_DIR",
            "WANDB_ARTIFACT_DIR",
            "TMPDIR",
        ):
            Path(env[key]).mkdir(parents=True, exist_ok=True)
        env.update(extra)
        return env

    def run(self, script: str, *, check: bool = True, **env: str) -> WandbResult:
        """Run ``script`` (dedented; ``emit(obj)`` returns a result) with the wandb venv."""
        path = self.home / f"script-{uuid.uuid4().hex[:8]}.py"
        path.write_text(PRELUDE + textwrap.dedent(script))
        done = subprocess.run(
            [str(self.python), str(path)],
            capture_output=True,
            text=True,
            env=self.env(**env),
            cwd=self.home,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
        results = [
            json.loads(line[len(RESULT_MARK) :])
            for line in done.stdout.splitlines()
            if line.startswith(RESULT_MARK)
        ]
        out = WandbResult(done.returncode, done.stdout, done.stderr, results)
        if check:
            assert done.returncode == 0, f"wandb script failed ({done.returncode})\n{out.output}"
        return out

    def other_user(self) -> WandbClient:
        """A second, unrelated user of the same server."""
        name = f"w-{uuid.uuid4().hex[:10]}"
        home = self.home.parent / f"{name}-home"
        home.mkdir()
        return WandbClient(
            self.python,
            self.server,
            self.kind,
            backends.make_user(self.server.db_url, name),
            name,
            home,
        )


@pytest.fixture(params=KINDS)
def wandb_client(request: pytest.FixtureRequest, wandb_python: Path, tmp_path: Path) -> WandbClient:
    """A fresh user of a session server of each kind, with the wandb client to act as them."""
    kind = str(request.param)
    server = backends.server_for(kind, request)
    name = f"w-{uuid.uuid4().hex[:10]}"
    home = tmp_path / "home"
    home.mkdir()
    return WandbClient(
        wandb_python, server, kind, backends.make_user(server.db_url, name), name, home
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.wandb_client)

"""DVC: ``dvc add`` + ``dvc push`` to a local remote; ``dvc pull`` into a fresh clone.

The workspace is ``dvc init --no-scm`` in the run's state folder with a plain copy of the
workload as ``data/`` (made before the clock starts: DVC versions files inside its workspace).
``log`` is ``dvc add data`` then ``dvc push`` (timed together, as a user runs them). A "fresh
clone" is a new folder with only what git would carry (``.dvc/config``, ``data.dvc``), with an
empty cache for ``download_cold`` and, for ``download_warm``, the cold clone's cache set as its
cache (``dvc cache dir --local``): a cache hit that only checks out. ``verify`` is
``dvc status`` in the cold clone. The commands run in-process through ``dvc.cli.main`` (the
``dvc`` entry point itself), so their memory is the worker's. Blobs are counted in the remote.
Analytics and the update check are off (``core.analytics``, ``core.check_update``,
``DVC_NO_ANALYTICS``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.measure import count_files
from benchmarks.targets.base import QUIET_ENV, Target
from benchmarks.workloads import Workload, copy_tree


class DVC(Target):
    name = "dvc"
    peer = True

    def available(self) -> str | None:
        import importlib.util

        return None if importlib.util.find_spec("dvc") else "not installed (pip install dvc)"

    def supports(self, workload: Workload, op: str) -> str | None:
        return "not a DVC operation" if op == "files_page" else super().supports(workload, op)

    def _dvc(self, cwd: Path, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "dvc", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
            env={**os.environ, **QUIET_ENV},
        )

    def start(self, state: Path) -> None:
        super().start(state)
        ws = state / "dvc-ws"
        ws.mkdir(parents=True)
        (state / "dvc-remote").mkdir()
        self._dvc(ws, "init", "--no-scm", "-q")
        self._dvc(ws, "config", "core.analytics", "false")
        self._dvc(ws, "config", "core.check_update", "false")
        self._dvc(ws, "remote", "add", "-d", "local", str(state / "dvc-remote"))

    def data_for(self, workload: Workload, folder: Path) -> Path:
        assert self.state is not None
        inside = self.state / "dvc-ws" / "data"
        if folder != inside and not inside.exists():
            copy_tree(folder, inside)
        return inside

    def workspace(self) -> Path:
        assert self.state is not None
        return self.state / "dvc-ws" / "data"

    def count_blobs(self) -> int | None:
        assert self.state is not None
        return count_files(self.state / "dvc-remote")


# -- the worker side -----------------------------------------------------------------------------


def prepare(spec: dict[str, Any]) -> None:
    # Imported before the clock starts.
    import dvc.cli
    import dvc.repo  # noqa: F401


def _main(cwd: str | Path, *args: str) -> None:
    from dvc.cli import main

    old = os.getcwd()
    os.chdir(cwd)
    try:
        rc = main(list(args))
    finally:
        os.chdir(old)
    if rc != 0:
        raise RuntimeError(f"dvc {' '.join(args)} exited {rc}")


def log(spec: dict[str, Any]) -> dict[str, Any]:
    ws = Path(spec["data"]).parent
    _main(ws, "add", "-q", "data")
    _main(ws, "push", "-q")
    return {}


def download(spec: dict[str, Any]) -> dict[str, Any]:
    state = Path(spec["state"])
    ws, clone = state / "dvc-ws", Path(spec["dest"])
    (clone / ".dvc").mkdir(parents=True)
    shutil.copyfile(ws / ".dvc" / "config", clone / ".dvc" / "config")
    shutil.copyfile(ws / "data.dvc", clone / "data.dvc")
    if spec["op"] == "download_warm":
        _main(clone, "cache", "dir", "--local", str(state / "dl-cold" / ".dvc" / "cache"))
    _main(clone, "pull", "-q")
    return {}


def verify(spec: dict[str, Any]) -> dict[str, Any]:
    _main(Path(spec["state"]) / "dl-cold", "status", "-q")
    return {}


OPS = {
    "log": log,
    "relog": log,
    "log_incr": log,
    "download_cold": download,
    "download_warm": download,
    "verify": verify,
}

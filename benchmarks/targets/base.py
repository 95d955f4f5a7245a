"""What the harness knows about a system under test: a :class:`Target`.

A target lives in two places. In the harness, a ``Target`` object starts and stops whatever
server the system needs (a fresh one per run), says which operations apply, builds each
operation's *spec* (plain JSON: folders and names) and environment, and counts blobs in its
store. In a worker process, the target's module exposes ``prepare(spec)`` (untimed imports) and
``OPS``, a dict from operation name to a function of the spec. Adding a system means one module
with both halves, and one line in ``targets/__init__.py``.

Operations, as the harness names them (each in a fresh worker process):

    log            log the workload folder as a new version (first time: empty store)
    relog          log the same, unchanged folder again
    log_incr       W3: a working copy of W1 is logged (untimed), turned into W3 in place
                   (only the changed files are written), and logged again: this is timed
    download_cold  download the latest version into an empty folder with an empty cache
    download_warm  the same into another empty folder, the cache now full
    download_warm_link  the same with downloads hard-linked to the cache (Cairn's
                   ``CAIRN_LINK_MODE=hardlink``), compared with ``cp -al``
    verify         check the cold download against the version
    files_page     W4: the first page of ``files()`` of the logged version
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks.workloads import Workload

OPS_BY_WORKLOAD: dict[str, tuple[str, ...]] = {
    "w1": ("log", "relog", "download_cold", "download_warm", "download_warm_link", "verify"),
    "w2": ("log", "relog", "download_cold", "download_warm", "download_warm_link", "verify"),
    "w3": ("log_incr",),
    "w4": ("log", "relog", "download_cold", "download_warm", "verify", "files_page"),
}

LINK_ONLY_CAIRN = "no hard-link download mode measured for this system"

# Environment every worker gets: nothing may leave the machine, nothing may prompt.
QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "DVC_NO_ANALYTICS": "1",
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_DISABLE_GIT": "true",
    "WANDB_DISABLE_CODE": "true",
    "WANDB_X_DISABLE_STATS": "true",
    "WANDB_X_DISABLE_META": "true",
    "WANDB_X_DISABLE_MACHINE_INFO": "true",
    "WANDB_ERROR_REPORTING": "false",
    "CAIRN_SILENT": "true",
    # Cairn reads WANDB_MODE when CAIRN_MODE is unset: without this, the W&B peer's "offline"
    # would send Cairn's server targets to the embedded store.
    "CAIRN_MODE": "online",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "PYTHONUNBUFFERED": "1",
}


WARM_DEST = {"download_warm": "dl-warm", "download_warm_link": "dl-warm-link"}


class Target:
    """The harness side of a system under test (see the module docstring)."""

    name = "?"
    peer = False  # a system Cairn is compared with (its rows feed the "vs" columns)
    uses_proxy = False

    def __init__(self) -> None:
        self.state: Path | None = None

    # -- what applies ---------------------------------------------------------------------------
    def available(self) -> str | None:
        """None if this target can run here, else why not (shown in its row)."""
        return None

    def supports(self, workload: Workload, op: str) -> str | None:
        """None if ``op`` applies to ``workload`` for this system, else why not."""
        return LINK_ONLY_CAIRN if op == "download_warm_link" else None

    # -- lifecycle of one run -------------------------------------------------------------------
    def start(self, state: Path) -> None:
        """Start from nothing in ``state`` (a fresh, empty folder for this run)."""
        self.state = state

    def stop(self) -> None:
        """Stop whatever ``start`` started (by PID) and forget the run's state."""

    def server_pids(self) -> list[int]:
        return []

    @property
    def proxy_counts(self) -> Any:
        return None

    def count_blobs(self) -> int | None:
        """How many blobs the store holds now (None when it cannot be known)."""
        return None

    # -- one operation --------------------------------------------------------------------------
    def data_for(self, workload: Workload, folder: Path) -> Path:
        """Where the system reads ``folder`` from; DVC needs it inside its workspace."""
        return folder

    def workspace(self) -> Path:
        """Where the incremental run keeps its working copy of W1."""
        assert self.state is not None
        return self.state / "ws"

    def env(self, op: str) -> dict[str, str]:
        return dict(QUIET_ENV)

    def spec(self, workload: Workload, op: str, data: Path) -> dict[str, Any]:
        assert self.state is not None
        return {
            "name": workload.name,
            "data": str(data),
            "state": str(self.state),
            "dest": str(self.state / WARM_DEST.get(op, "dl-cold")),
            "op": op,
        }


def rmtree_quiet(path: Path) -> None:
    import shutil

    if path.exists():
        # Cairn makes cache objects read-only; rmtree needs write permission on their folders.
        for dirpath, _dirs, _files in os.walk(path):
            os.chmod(dirpath, 0o755)
        shutil.rmtree(path, ignore_errors=True)

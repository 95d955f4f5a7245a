"""MLflow: ``mlflow server --serve-artifacts`` on loopback, the client logs a folder to a run.

``log_artifacts`` uploads every file of the folder through the server (proxied artifacts, into
``--artifacts-destination``); ``download_artifacts`` fetches them back. MLflow has no content
addressing, so ``relog`` and ``log_incr`` upload every file again into a new run, and it has no
client cache, so a warm download is another full download; it has no verify. The server gets
its default worker count; the client reaches it through the byte-counting proxy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.measure import (
    CountingProxy,
    count_files,
    free_port,
    stop_group,
    wait_for_port,
)
from benchmarks.targets.base import QUIET_ENV, Target
from benchmarks.workloads import Workload

STARTUP_TIMEOUT = 120.0


class MLflow(Target):
    name = "mlflow"
    peer = True
    uses_proxy = True

    def __init__(self) -> None:
        super().__init__()
        self._proc: subprocess.Popen[bytes] | None = None
        self._proxy: CountingProxy | None = None
        self._log: Any = None

    def available(self) -> str | None:
        import importlib.util

        return None if importlib.util.find_spec("mlflow") else "not installed (pip install mlflow)"

    def supports(self, workload: Workload, op: str) -> str | None:
        if op == "verify":
            return "MLflow has no verify"
        if op == "files_page":
            return "not an MLflow operation"
        if workload.name == "w4":
            return "1M files through MLflow's one-request-per-file upload: hours"
        return super().supports(workload, op)

    def start(self, state: Path) -> None:
        super().start(state)
        home = state / "mlflow"
        home.mkdir(parents=True)
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{home / 'mlflow.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--serve-artifacts",
        ]
        self._log = open(home / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            cmd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=home,
            env={**os.environ, **QUIET_ENV},
            start_new_session=True,
        )
        wait_for_port(port, STARTUP_TIMEOUT, self._proc)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                with opener.open(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._proxy = CountingProxy(port)

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None
        if self._proc is not None:
            stop_group(self._proc)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def server_pids(self) -> list[int]:
        return [self._proc.pid] if self._proc is not None else []

    @property
    def proxy_counts(self) -> CountingProxy | None:
        return self._proxy

    def count_blobs(self) -> int | None:
        assert self.state is not None
        return count_files(self.state / "mlflow" / "artifacts")

    def env(self, op: str) -> dict[str, str]:
        assert self._proxy is not None
        env = super().env(op)
        env["MLFLOW_TRACKING_URI"] = f"http://127.0.0.1:{self._proxy.port}"
        return env


# -- the worker side -----------------------------------------------------------------------------


def prepare(spec: dict[str, Any]) -> None:
    # Imported before the clock starts.
    import mlflow
    import mlflow.artifacts  # noqa: F401


def _run_file(spec: dict[str, Any]) -> Path:
    return Path(spec["state"]) / "mlflow" / f"latest-run-{spec['name']}.txt"


def log(spec: dict[str, Any]) -> dict[str, Any]:
    import mlflow

    mlflow.set_experiment("bench")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(spec["data"])
    _run_file(spec).write_text(run.info.run_id)
    return {"run_id": run.info.run_id}


def download(spec: dict[str, Any]) -> dict[str, Any]:
    import mlflow.artifacts

    run_id = _run_file(spec).read_text()
    os.makedirs(spec["dest"], exist_ok=True)
    mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=spec["dest"])
    return {"run_id": run_id}


OPS = {
    "log": log,
    "relog": log,
    "log_incr": log,
    "download_cold": download,
    "download_warm": download,
}

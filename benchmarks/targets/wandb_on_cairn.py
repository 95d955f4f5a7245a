"""The official W&B client (``wandb`` 0.31) against ``cairn server``: a W&B user who changed
only ``WANDB_BASE_URL`` and ``WANDB_API_KEY``.

The server side is :class:`~benchmarks.targets.cairn_server.CairnServer` (SQLite + a blob
folder, through the counting proxy), so its rows sit beside Cairn's own SDK on the same stack.
The client is ``wandb``, which lives in a venv of its own (it pins packages Cairn's environment
need not have): ``$CAIRN_WANDB_VENV``, the venv the ``tests/wandb_client`` harness makes and
reuses. The worker process (Cairn's interpreter) runs each operation as a script in that venv;
the script times only the operation itself (``import wandb`` is outside the clock) and reports
its seconds, which the worker records. Peak memory is the worker's children's, i.e. the wandb
process and its ``wandb-core`` sidecar.

Operations: ``log``/``relog`` (``wandb.init`` + ``log_artifact(dir)`` + ``wait`` + ``finish``),
``download_cold``/``download_warm`` (``Api().artifact(...).download()``, the W&B cache folder
empty, then full), ``verify``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from benchmarks.targets.cairn_embedded import PROJECT
from benchmarks.targets.cairn_server import USER, CairnServer
from benchmarks.workloads import Workload

VENV_ENV = "CAIRN_WANDB_VENV"
WANDB_VERSION = "0.31.0"
OPS_SUPPORTED = ("log", "relog", "download_cold", "download_warm", "verify")


def _venv_python() -> Path | None:
    venv = os.environ.get(VENV_ENV)
    if not venv:
        return None
    python = Path(venv) / "bin" / "python"
    return python if python.exists() else None


class WandbOnCairn(CairnServer):
    name = "wandb-client-cairn-sqlite"

    def available(self) -> str | None:
        python = _venv_python()
        if python is None:
            return (
                f"not available: set {VENV_ENV} to a venv with wandb=={WANDB_VERSION} "
                "(python -m venv DIR && DIR/bin/pip install wandb==" + WANDB_VERSION + ")"
            )
        probe = subprocess.run(
            [str(python), "-c", "import wandb; print(wandb.__version__)"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if probe.returncode != 0:
            return f"not available: wandb does not import in {python}"
        return super().available()

    def supports(self, workload: Workload, op: str) -> str | None:
        if workload.name not in ("w1", "w2"):
            return "measured on W1 and W2 only"
        return None if op in OPS_SUPPORTED else f"{op}: not measured for the W&B client"

    def env(self, op: str) -> dict[str, str]:
        env = super().env(op)
        assert self.state is not None
        reading = op.startswith("download") or op == "verify"
        home = self.state / "wandb-home"
        env.update(
            {
                "WANDB_BASE_URL": env["CAIRN_BASE_URL"],
                "WANDB_API_KEY": env["CAIRN_API_KEY"],
                "WANDB_ENTITY": USER,
                "WANDB_PROJECT": PROJECT,
                "WANDB_MODE": "online",
                "WANDB_CONSOLE": "off",
                "WANDB_DIR": str(home / "dir"),
                "WANDB_CONFIG_DIR": str(home / "config"),
                "WANDB_DATA_DIR": str(home / "data"),
                "WANDB_ARTIFACT_DIR": str(home / "artifacts"),
                "WANDB_CACHE_DIR": str(home / ("cache-reader" if reading else "cache")),
                "WANDB_DISABLE_JOB_CREATION": "true",
                "WANDB_X_SAVE_REQUIREMENTS": "false",
                "HOME": str(home),
                VENV_ENV: os.environ.get(VENV_ENV, ""),
            }
        )
        for key in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR"):
            Path(env[key]).mkdir(parents=True, exist_ok=True)
        return env


# -- the worker side: each operation is a script run in the wandb venv -------------------------

_LOG = """
import json, sys, time
import wandb
spec = json.loads(sys.argv[1])
t0 = time.perf_counter()
run = wandb.init(project=PROJECT, entity=USER, job_type="bench")
art = wandb.Artifact(spec["name"], type="dataset")
art.add_dir(spec["data"])
logged = run.log_artifact(art)
logged.wait()
run.finish()
print(json.dumps({"seconds": time.perf_counter() - t0, "version": logged.version,
                  "files": len(art.manifest.entries)}))
"""

_DOWNLOAD = """
import json, sys, time
import wandb
spec = json.loads(sys.argv[1])
t0 = time.perf_counter()
art = wandb.Api().artifact(f"{USER}/{PROJECT}/{spec['name']}:latest")
art.download(root=spec["dest"])
print(json.dumps({"seconds": time.perf_counter() - t0, "version": art.version}))
"""

_VERIFY = """
import json, sys, time
import wandb
spec = json.loads(sys.argv[1])
t0 = time.perf_counter()
art = wandb.Api().artifact(f"{USER}/{PROJECT}/{spec['name']}:latest")
art.verify(root=spec["state"] + "/dl-cold")
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def _script(body: str) -> str:
    return f"PROJECT = {PROJECT!r}\nUSER = {USER!r}\n" + textwrap.dedent(body)


def _in_venv(body: str, spec: dict[str, Any]) -> dict[str, Any]:
    python = os.path.join(os.environ[VENV_ENV], "bin", "python")
    done = subprocess.run(
        [python, "-c", _script(body), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise RuntimeError(f"the wandb script failed with exit {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def prepare(spec: dict[str, Any]) -> None:
    """Nothing to import here: the client runs in its own venv."""


def log(spec: dict[str, Any]) -> dict[str, Any]:
    return _in_venv(_LOG, spec)


def download(spec: dict[str, Any]) -> dict[str, Any]:
    return _in_venv(_DOWNLOAD, spec)


def verify(spec: dict[str, Any]) -> dict[str, Any]:
    return _in_venv(_VERIFY, spec)


OPS = {
    "log": log,
    "relog": log,
    "download_cold": download,
    "download_warm": download,
    "verify": verify,
}

__all__ = ["OPS", "WandbOnCairn", "prepare"]

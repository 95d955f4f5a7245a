"""W&B's SDK, offline: building an artifact from a folder (``Artifact.add_dir``).

Offline there is no server to upload to or download from, so only the client's own cost is
measured: walking, hashing (MD5) and, with the default ``policy="mutable"``, copying every file
into W&B's staging folder. That is the floor of any ``log_artifact``. W&B keeps its folders in
the run's state (``WANDB_DIR``, ``WANDB_CACHE_DIR``, ``WANDB_DATA_DIR``), removed after the run.
"""

from __future__ import annotations

from typing import Any

from benchmarks.targets.base import Target
from benchmarks.workloads import Workload

BUILD_ONLY = {"log", "relog", "log_incr"}


class WandB(Target):
    name = "wandb"
    peer = True

    def available(self) -> str | None:
        import importlib.util

        return None if importlib.util.find_spec("wandb") else "not installed (pip install wandb)"

    def supports(self, workload: Workload, op: str) -> str | None:
        return None if op in BUILD_ONLY else "offline SDK: no server to download from"

    def env(self, op: str) -> dict[str, str]:
        assert self.state is not None
        env = super().env(op)
        for var, sub in (
            ("WANDB_DIR", "wandb"),
            ("WANDB_CACHE_DIR", "wandb-cache"),
            ("WANDB_DATA_DIR", "wandb-data"),
            ("WANDB_CONFIG_DIR", "wandb-config"),
        ):
            env[var] = str(self.state / sub)
        return env


# -- the worker side -----------------------------------------------------------------------------


def prepare(spec: dict[str, Any]) -> None:
    import wandb  # noqa: F401 - imported before the clock starts


def build(spec: dict[str, Any]) -> dict[str, Any]:
    import wandb

    art = wandb.Artifact(spec["name"], type="dataset")
    art.add_dir(spec["data"])
    return {"files": len(art.manifest.entries), "digest": art.digest}


OPS = {"log": build, "relog": build, "log_incr": build}

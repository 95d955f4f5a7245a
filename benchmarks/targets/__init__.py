"""The systems under test, by name (imported lazily: a missing peer only skips its rows)."""

from __future__ import annotations

import importlib

from benchmarks.targets.base import Target

# name → (harness module, class name); the worker side is the same module's OPS/prepare.
REGISTRY: dict[str, tuple[str, str]] = {
    "cairn-embedded": ("benchmarks.targets.cairn_embedded", "CairnEmbedded"),
    "cairn-server-sqlite": ("benchmarks.targets.cairn_server", "CairnServer"),
    "cairn-server-pg-s3": ("benchmarks.targets.cairn_server", "CairnServerPgS3"),
    "cairn-server-pg-s3-per-object": (
        "benchmarks.targets.cairn_server",
        "CairnServerPgS3PerObject",
    ),
    "mlflow": ("benchmarks.targets.mlflow_target", "MLflow"),
    "dvc": ("benchmarks.targets.dvc_target", "DVC"),
    "wandb": ("benchmarks.targets.wandb_target", "WandB"),
    # The official W&B client against cairn server (SQLite + folder), beside Cairn's own SDK.
    "wandb-client-cairn-sqlite": ("benchmarks.targets.wandb_on_cairn", "WandbOnCairn"),
    "limits": ("benchmarks.limits", "Limits"),
}
WORKER_MODULES = {name: mod for name, (mod, _cls) in REGISTRY.items()}
CAIRN = (
    "cairn-embedded",
    "cairn-server-sqlite",
    "cairn-server-pg-s3",
    "cairn-server-pg-s3-per-object",
)
PEERS = ("mlflow", "dvc", "wandb")


def make(name: str) -> Target:
    mod, cls = REGISTRY[name]
    target: Target = getattr(importlib.import_module(mod), cls)()
    return target


__all__ = ["CAIRN", "PEERS", "REGISTRY", "WORKER_MODULES", "Target", "make"]

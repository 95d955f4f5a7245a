"""The spec's parallel-writers example, with Ray tasks as the writers (Ray from PyPI, local)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import cairn as wandb
from tests.conftest import CairnEnv

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_local():  # type: ignore[no-untyped-def]
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no telemetry: nothing may leave the machine
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
    )
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_writers_upsert_then_finish(ray_local, cairn_env: CairnEnv, project: str) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k.startswith("CAIRN_")}
    artifact_type, artifact_name, parts_path, num_parallel = (
        "dataset",
        "parallel-artifact",
        "parts",
        5,
    )
    group_name = f"writer-group-{round(time.time())}"

    @ray.remote
    def train(i: int) -> None:
        os.environ.update(env)  # the worker's own process: point it at the same store
        with wandb.init(project=project, group=group_name) as run:
            artifact = wandb.Artifact(name=artifact_name, type=artifact_type)
            with artifact.new_file(f"{parts_path}/part_{i}.csv") as f:
                f.write(f"a,b,c\n{i},{i * 2},{2**i}\n")
            run.upsert_artifact(artifact)

    ray.get([train.remote(i) for i in range(num_parallel)])

    with wandb.init(project=project, group=group_name) as run:
        artifact = wandb.Artifact(artifact_name, type=artifact_type)
        with artifact.new_file("index.txt") as f:
            f.write(parts_path)
        run.finish_artifact(artifact)

    done = wandb.Api().artifact(f"{project}/{artifact_name}:latest")
    assert sorted(done.manifest.entries) == ["index.txt"] + [
        f"parts/part_{i}.csv" for i in range(num_parallel)
    ]
    root = done.download()
    assert Path(root, "parts/part_3.csv").read_text() == "a,b,c\n3,6,8\n"

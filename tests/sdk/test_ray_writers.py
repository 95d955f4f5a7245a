"""The spec's parallel-writers example as written (construct-an-artifact.md), with Ray.

Ray from PyPI runs locally (telemetry off); each task is a writer process that upserts a
``Table`` part, then a final run adds a ``PartitionedTable`` and calls ``finish_artifact``.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import CairnEnv

ray = pytest.importorskip("ray")
pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def ray_local():  # type: ignore[no-untyped-def]
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # nothing may leave the machine
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
def test_seed_example_runs_as_written(ray_local, cairn_env: CairnEnv, project: str) -> None:  # type: ignore[no-untyped-def]
    import cairn as wandb

    os.environ["CAIRN_PROJECT"] = project  # the seed's init() calls name no project
    env = {k: v for k, v in os.environ.items() if k.startswith("CAIRN_")}

    # ---- the seed's code, unchanged but for the Ray worker picking up the environment ----
    artifact_type = "dataset"
    artifact_name = "parallel-artifact"
    table_name = "distributed_table"
    parts_path = "parts"
    num_parallel = 5

    group_name = "writer-group-{}".format(round(time.time()))  # noqa: UP032 (as written)

    @ray.remote
    def train(i):  # type: ignore[no-untyped-def]
        os.environ.update(env)
        with wandb.init(group=group_name) as run:
            artifact = wandb.Artifact(name=artifact_name, type=artifact_type)
            table = wandb.Table(columns=["a", "b", "c"], data=[[i, i * 2, 2**i]])
            artifact.add(table, "{}/table_{}".format(parts_path, i))  # noqa: UP032
            run.upsert_artifact(artifact)

    result_ids = [train.remote(i) for i in range(num_parallel)]
    ray.get(result_ids)

    with wandb.init(group=group_name) as run:
        artifact = wandb.Artifact(artifact_name, type=artifact_type)
        artifact.add(wandb.data_types.PartitionedTable(parts_path), table_name)
        run.finish_artifact(artifact)
    # ---- end of the seed's code ----

    done = wandb.Api().artifact(f"{project}/{artifact_name}:latest")
    assert done.version == "v0"
    assert sorted(done.manifest.entries) == [f"{table_name}.partitioned-table.json"] + [
        f"{parts_path}/table_{i}.table.json" for i in range(num_parallel)
    ]
    whole = done.get(table_name)
    rows = sorted(tuple(r) for r in whole.get_dataframe().itertuples(index=False))
    assert rows == [(i, i * 2, 2**i) for i in range(num_parallel)]

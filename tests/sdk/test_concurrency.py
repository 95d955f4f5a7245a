"""Commits are atomic: concurrent writers never collide.

Real processes (spawn context), each configured by the environment the fixtures set up, so the
tests run unchanged against every backend. A writer killed mid-log is tested at named fault
points, not after sleeps, in ``tests/reliability/test_client_kills.py``.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, version_digest, versions

WRITERS = 4


def _writer(
    project: str,
    index: int,
    work: str,
    barrier: multiprocessing.synchronize.Barrier,
) -> None:
    base = Path(work) / f"writer-{index}"
    distinct = wandb.Artifact("shared", type="dataset", metadata={"writer": index})
    distinct.add_file(str(write(base / "data.txt", f"writer {index}".encode())))
    same = wandb.Artifact("same", type="dataset")
    same.add_file(str(write(base / "same.txt", b"identical in every writer")))
    barrier.wait(timeout=120)
    with wandb.init(project=project, job_type=f"writer-{index}") as run:
        run.log_artifact(distinct)
        run.log_artifact(same)
        distinct.wait()
        same.wait()


def test_concurrent_writers_get_distinct_versions(cairn_env: CairnEnv, project: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    procs = [
        ctx.Process(target=_writer, args=(project, i, str(cairn_env.work), barrier))
        for i in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    api = wandb.Api()
    got = api.artifacts("dataset", f"{project}/shared")
    assert [a.version for a in got] == [f"v{i}" for i in range(WRITERS)]
    assert sorted(a.metadata["writer"] for a in got) == list(range(WRITERS))
    for a in got:
        assert a.digest == version_digest({"data.txt": f"writer {a.metadata['writer']}".encode()})
    assert len({a.id for a in got}) == WRITERS
    latest = api.artifact(f"{project}/shared:latest")
    assert latest.version == f"v{WRITERS - 1}"
    # identical content from every writer: exactly one version
    assert versions(project, "same", "dataset") == ["v0"]
    one = api.artifact(f"{project}/same:v0")
    assert one.manifest.to_json()["contents"]["same.txt"]["digest"] == b64md5(
        b"identical in every writer"
    )

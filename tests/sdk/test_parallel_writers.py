"""Many writers, one version (upsert/finish), and many loggers at once — real processes."""

from __future__ import annotations

import multiprocessing as mp
import uuid
from pathlib import Path

import pytest

import cairn as wandb
from cairn.errors import EntryConflictError
from tests.conftest import CairnEnv

N_WRITERS = 4
M_PARTS = 5


def _writer(project: str, group: str, w: int, parts: int) -> None:
    with wandb.init(project=project, group=group, job_type="writer") as run:
        art = wandb.Artifact("parallel", type="dataset")
        for p in range(parts):
            with art.new_file(f"parts/w{w}/part{p}.txt") as f:
                f.write(f"writer {w} part {p}")
        run.upsert_artifact(art)


def _logger(project: str, i: int) -> None:
    with wandb.init(project=project, job_type="logger") as run:
        art = wandb.Artifact("many", type="dataset", metadata={"index": i})
        with art.new_file("i.txt") as f:
            f.write(f"content {i}")
        run.log_artifact(art)


def _run_all(target, args_list) -> None:  # type: ignore[no-untyped-def]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    assert [p.exitcode for p in procs] == [0] * len(procs)


@pytest.mark.slow
def test_writers_in_separate_processes_build_one_version(cairn_env: CairnEnv, project: str) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    _run_all(_writer, [(project, group, w, M_PARTS) for w in range(N_WRITERS)])
    # Nothing is visible before finish_artifact.
    assert not wandb.Api().artifact_exists(f"{project}/parallel:latest")
    with wandb.init(project=project, group=group, job_type="finisher") as run:
        final = wandb.Artifact("parallel", type="dataset")
        with final.new_file("index.txt") as f:
            f.write("all parts")
        run.finish_artifact(final)
    art = wandb.Api().artifact(f"{project}/parallel:latest")
    assert art.version == "v0"
    names = sorted(art.manifest.entries)
    assert len(names) == N_WRITERS * M_PARTS + 1
    assert names[0] == "index.txt"
    root = art.download()
    for w in range(N_WRITERS):
        for p in range(M_PARTS):
            text = (cairn_env.work.parent / root / f"parts/w{w}/part{p}.txt").read_text()
            assert text == f"writer {w} part {p}"


@pytest.mark.slow
def test_concurrent_loggers_get_distinct_versions_without_gaps(
    cairn_env: CairnEnv, project: str
) -> None:
    k = 6
    _run_all(_logger, [(project, i) for i in range(k)])
    versions = wandb.Api().artifacts("dataset", f"{project}/many")
    assert sorted(int(v.version[1:]) for v in versions) == list(range(k))
    assert sorted(v.metadata["index"] for v in versions) == list(range(k))


def test_upsert_conflict_keeps_the_other_writers_entry(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, group="g") as run:
        a = wandb.Artifact("shared", type="dataset")
        with a.new_file("x.txt") as f:
            f.write("first")
        run.upsert_artifact(a)
        b = wandb.Artifact("shared", type="dataset")
        with b.new_file("x.txt") as f:
            f.write("second")
        with b.new_file("y.txt") as f:
            f.write("y")
        with pytest.raises(EntryConflictError, match=r"x\.txt"):
            run.upsert_artifact(b)
        same = wandb.Artifact("shared", type="dataset")
        with same.new_file("x.txt") as f:
            f.write("first")
        run.upsert_artifact(same)  # same content: fine
        done = run.finish_artifact(wandb.Artifact("shared", type="dataset"))
    assert sorted(done.manifest.entries) == ["x.txt"]  # nothing of the refused upsert
    path = done.get_entry("x.txt").download()
    assert Path(path).read_text() == "first"


def test_after_finish_a_new_upsert_starts_a_new_version(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, group="g2") as run:
        a = wandb.Artifact("seq", type="dataset")
        with a.new_file("a.txt") as f:
            f.write("a")
        run.upsert_artifact(a)
        first = run.finish_artifact(wandb.Artifact("seq", type="dataset"))
        b = wandb.Artifact("seq", type="dataset")
        with b.new_file("b.txt") as f:
            f.write("b")
        run.upsert_artifact(b)
        second = run.finish_artifact(wandb.Artifact("seq", type="dataset"))
    assert (first.version, second.version) == ("v0", "v1")
    assert sorted(second.manifest.entries) == ["b.txt"]


def test_upsert_needs_a_distributed_id_or_group(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        with pytest.raises(TypeError, match="distributed_id"):
            run.upsert_artifact(wandb.Artifact("x", type="dataset"))
        art = wandb.Artifact("x", type="dataset")
        with art.new_file("f.txt") as f:
            f.write("f")
        run.upsert_artifact(art, distributed_id="explicit")
        done = run.finish_artifact(wandb.Artifact("x", type="dataset"), distributed_id="explicit")
    assert done.version == "v0"

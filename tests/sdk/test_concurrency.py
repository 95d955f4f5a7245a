"""Commits are atomic: concurrent writers never collide, a killed writer leaves nothing visible.

Real processes (spawn context), each configured by the environment the fixtures set up, so the
tests run unchanged against every backend.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import cairn as wandb
from tests.conftest import CairnEnv, write
from tests.sdk.helpers import b64md5, log, tree, version_digest, versions

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


def _doomed_writer(project: str, work: str, files: int, ready: str) -> None:
    art = wandb.Artifact("victim", type="dataset")
    base = Path(work) / "many"
    art.add_dir(str(base))
    run = wandb.init(project=project, job_type="doomed")
    Path(ready).touch()  # the parent kills us from now on
    run.log_artifact(art)
    art.wait()
    time.sleep(600)  # if the log finished before the kill, wait for it here


def test_killed_writer_leaves_no_visible_version(cairn_env: CairnEnv, project: str) -> None:
    files = 800
    for i in range(files):
        write(cairn_env.work / "many" / f"{i // 100}" / f"{i}.bin", os.urandom(2048) + b"%d" % i)
    good = wandb.Artifact("victim", type="dataset")
    good.add_file(str(write(cairn_env.work / "good.txt", b"committed before the crash")))
    log(project, good)

    ctx = multiprocessing.get_context("spawn")
    for attempt, delay in enumerate((0.2, 0.8)):
        ready = cairn_env.work / f"ready-{attempt}"
        proc = ctx.Process(
            target=_doomed_writer, args=(project, str(cairn_env.work), files, str(ready))
        )
        proc.start()
        try:
            deadline = time.monotonic() + 180
            while not ready.exists() and proc.is_alive() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert ready.exists(), f"writer exited early with code {proc.exitcode}"
            time.sleep(delay)
        finally:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
            proc.join(timeout=60)

        # Only committed versions are visible, numbered without gaps, and each one is whole.
        api = wandb.Api()
        got = api.artifacts("dataset", f"{project}/victim")
        labels = [a.version for a in got]
        assert labels == [f"v{i}" for i in range(len(labels))]
        assert labels[0] == "v0"
        for a in got:
            assert a.state == "COMMITTED"
            root = a.download(root=str(cairn_env.work / "check" / f"{attempt}-{a.version}"))
            a.verify(root=root)
            assert len(tree(root)) == a.file_count
        assert api.artifact(f"{project}/victim:v0").file_count == 1

    # The store still works: a new version commits with the next index and round-trips.
    before = versions(project, "victim", "dataset")
    after = wandb.Artifact("victim", type="dataset")
    after.add_file(str(write(cairn_env.work / "after.txt", b"after the crash")))
    logged = log(project, after)
    assert logged.version == f"v{len(before)}"
    root = (
        wandb.Api()
        .artifact(f"{project}/victim:latest")
        .download(root=str(cairn_env.work / "after-check"))
    )
    assert tree(root) == {"after.txt": b"after the crash"}

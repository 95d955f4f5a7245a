"""What is never visible: half-committed versions, abandoned pending ones; what is never lost."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import cairn as wandb
from tests.conftest import CairnEnv

FILES_PER_VERSION = 40


def _logger(project: str, versions: int) -> None:
    for v in range(versions):
        with wandb.init(project=project, job_type="writer") as run:
            art = wandb.Artifact("busy", type="dataset", metadata={"v": v})
            for i in range(FILES_PER_VERSION):
                with art.new_file(f"d{i % 4}/f{i}.txt") as f:
                    f.write(f"version {v} file {i}")
            run.log_artifact(art)


def _upsert_then_die(project: str, group: str) -> None:
    with wandb.init(project=project, group=group) as run:
        art = wandb.Artifact("survivor", type="dataset")
        with art.new_file("from-the-dead.txt") as f:
            f.write("kept")
        run.upsert_artifact(art)
        os._exit(9)  # dies without finishing the run or the artifact


@pytest.mark.slow
def test_readers_never_see_a_half_committed_version(cairn_env: CairnEnv, project: str) -> None:
    writer = mp.get_context("spawn").Process(target=_logger, args=(project, 5))
    writer.start()
    api = wandb.Api()
    seen: set[str] = set()
    try:
        while writer.is_alive() or len(seen) < 5:
            if not api.artifact_exists(f"{project}/busy:latest"):
                time.sleep(0.05)
                continue
            art = wandb.Api().artifact(f"{project}/busy:latest")
            assert art.state == "COMMITTED"
            assert art.file_count == FILES_PER_VERSION
            root = art.download(root=str(cairn_env.work / "read" / art.version))
            art.verify(root)  # every file present, every byte as committed
            assert len(list(Path(root).rglob("*.txt"))) == FILES_PER_VERSION
            seen.add(art.version)
            if not writer.is_alive() and len(seen) < 5:
                break
    finally:
        writer.join(timeout=240)
    assert writer.exitcode == 0
    assert [a.version for a in api.artifacts("dataset", f"{project}/busy")] == [
        f"v{i}" for i in range(5)
    ]


def test_a_writer_that_dies_loses_nothing_it_upserted(cairn_env: CairnEnv, project: str) -> None:
    group = f"g-{uuid.uuid4().hex[:6]}"
    proc = mp.get_context("spawn").Process(target=_upsert_then_die, args=(project, group))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == 9
    assert not wandb.Api().artifact_exists(f"{project}/survivor:latest")
    with wandb.init(project=project, group=group) as run:
        done = run.finish_artifact(wandb.Artifact("survivor", type="dataset"))
    assert sorted(done.manifest.entries) == ["from-the-dead.txt"]
    assert Path(done.get_entry("from-the-dead.txt").download()).read_text() == "kept"


def test_abandoned_pending_versions_are_collected(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project, group="abandoned") as run:
        art = wandb.Artifact("ghost", type="dataset")
        with art.new_file("a.txt") as f:
            f.write("a")
        run.upsert_artifact(art)
    env = {**os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "cairn.cli", "gc", "--pending-older-than", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "dropped 1 abandoned" in done.stdout
    # The abandoned entries are gone: finishing now commits only what is added now.
    with wandb.init(project=project, group="abandoned") as run:
        fresh = wandb.Artifact("ghost", type="dataset")
        with fresh.new_file("b.txt") as f:
            f.write("b")
        result = run.finish_artifact(fresh)
    assert sorted(result.manifest.entries) == ["b.txt"]

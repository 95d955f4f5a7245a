"""log_artifact returns at once and commits in the background; wait() and finish() block."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import cairn as wandb
from cairn.errors import ArtifactLogError, TypeConflictError
from tests.conftest import CairnEnv


def test_race_example_commits_every_version(cairn_env: CairnEnv, project: str) -> None:
    """The spec's loop: ten logs of one name; none lost, versions v0..v9 in some order."""
    logged = []
    with wandb.init(project=project) as run:
        for i in range(10):
            a = wandb.Artifact(name="race", type="dataset", metadata={"index": i})
            with a.new_file("i.txt") as f:
                f.write(str(i))
            logged.append(run.log_artifact(a))
    assert sorted(a.version for a in logged) == [f"v{i}" for i in range(10)]
    stored = wandb.Api().artifacts("dataset", f"{project}/race")
    assert sorted(a.metadata["index"] for a in stored) == list(range(10))


def test_wait_returns_the_committed_artifact(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        a = wandb.Artifact("w", type="dataset")
        with a.new_file("f.txt") as f:
            f.write("x")
        assert run.log_artifact(a) is a
        assert a.wait() is a
        assert a.version == "v0"
        assert a.state == "COMMITTED"
        assert not a.is_draft()


def test_input_errors_are_raised_at_the_call(cairn_env: CairnEnv, project: str) -> None:
    with wandb.init(project=project) as run:
        a = wandb.Artifact("typed", type="dataset")
        run.log_artifact(a).wait()
        with pytest.raises(TypeConflictError, match="dataset"):
            run.log_artifact(wandb.Artifact("typed", type="model"))
        with pytest.raises(ValueError, match="latest"):
            run.log_artifact(wandb.Artifact("typed", type="dataset"), aliases=["v3"])


def test_a_failed_background_log_is_reported_by_wait_and_finish(
    cairn_env: CairnEnv, project: str
) -> None:
    src = cairn_env.work / "data.bin"
    src.write_bytes(b"original")
    run = wandb.init(project=project)
    a = wandb.Artifact("broken", type="dataset")
    a.add_file(str(src), policy="immutable")
    src.write_bytes(b"changed after it was added")  # immutable: the upload must refuse this
    run.log_artifact(a)
    with pytest.raises(ValueError, match="hash"):
        a.wait()
    run.finish()  # wait() already told the caller: not raised twice
    assert not wandb.Api().artifact_exists(f"{project}/broken:latest")
    assert wandb.Api().run(f"{project}/{run.id}").state == "failed"


def test_an_unwaited_failed_log_is_raised_by_finish(cairn_env: CairnEnv, project: str) -> None:
    src = cairn_env.work / "data.bin"
    src.write_bytes(b"original bytes for the unwaited case")
    a = wandb.Artifact("unwaited", type="dataset")
    a.add_file(str(src), policy="immutable")
    src.write_bytes(b"changed")
    with pytest.raises(ArtifactLogError, match="unwaited"), wandb.init(project=project) as run:
        run.log_artifact(a)
    assert wandb.Api().run(f"{project}/{run.id}").state == "failed"


def test_exiting_the_process_does_not_lose_a_pending_log(cairn_env: CairnEnv, project: str) -> None:
    code = textwrap.dedent(f"""
        import cairn as wandb
        run = wandb.init(project={project!r})
        art = wandb.Artifact("at-exit", type="dataset")
        with art.new_file("big.bin", mode="wb") as f:
            f.write(bytes(range(256)) * 40000)
        run.log_artifact(art)
        # no wait(), no finish(): the interpreter exits normally
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    art = wandb.Api().artifact(f"{project}/at-exit:latest")
    assert art.version == "v0"
    assert art.size == 256 * 40000
    assert wandb.Api().run(f"{project}/{art.logged_by().id}").state == "finished"

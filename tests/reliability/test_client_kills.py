"""A client killed at each step of ``log_artifact`` leaves no partial version behind.

A subprocess logs an artifact with ``CAIRN_FAULT_POINT`` set (see :mod:`cairn.faults`), so it
dies as under ``kill -9`` at a chosen step, not after a guessed sleep. Exit status 137 proves the
kill landed mid-log (a run that missed its point would exit 0). The points:

* ``log.after_begin``: the PENDING version is open, nothing uploaded;
* ``log.mid_upload``: small blobs go first, in a pack, so at the upload's first progress report
  that pack is stored and the large blobs are not sent;
* ``log.before_commit``: every blob stored, no commit sent;
* ``log.mid_commit``: embedded, inside the commit's database transaction with every row written;
  over HTTP, the commit's manifest sent but not the end of its body (the server sees a cut-off
  commit). Either way nothing may be committed.

Then, on every backend kind: the version committed before the kill is still the only one and
``latest``; it downloads and verifies; and logging the same content again works and makes v1.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

import cairn as wandb
from tests.conftest import CairnEnv

POINTS = ["log.after_begin", "log.mid_upload", "log.before_commit", "log.mid_commit"]
KILLED = 137

# Two large blobs (sent one by one) and six small ones (sent first, in one pack).
LOGGER = """
import sys
from pathlib import Path
import cairn as wandb

project, folder = sys.argv[1], sys.argv[2]
with wandb.init(project=project, job_type="writer") as run:
    art = wandb.Artifact("data", type="dataset")
    art.add_dir(folder)
    run.log_artifact(art)
print("logged")
"""


def _content(folder: Path) -> dict[str, bytes]:
    files = {f"big/{i}.bin": secrets.token_bytes(1536 * 1024) for i in range(2)}
    files.update({f"small/{i}.txt": secrets.token_bytes(2048) for i in range(6)})
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return files


def _log(project: str, folder: Path, point: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_FAULT_POINT"}
    if point is not None:
        env["CAIRN_FAULT_POINT"] = point
    return subprocess.run(
        [sys.executable, "-c", LOGGER, project, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _check_version(project: str, version: str, files: dict[str, bytes], where: Path) -> None:
    art = wandb.Api().artifact(f"{project}/data:{version}")
    assert art.state == "COMMITTED"
    root = Path(art.download(root=str(where / version)))
    art.verify(str(root))
    got = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert got == files


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_a_client_killed_mid_log_leaves_no_partial_version(
    cairn_env: CairnEnv, project: str, point: str
) -> None:
    first, second = cairn_env.work / "first", cairn_env.work / "second"
    before = _content(first)
    done = _log(project, first, None)
    assert done.returncode == 0 and "logged" in done.stdout, done.stderr

    after = _content(second)
    killed = _log(project, second, point)
    assert killed.returncode == KILLED, (killed.returncode, killed.stdout, killed.stderr)
    assert "logged" not in killed.stdout

    api = wandb.Api()
    versions = api.artifacts("dataset", f"{project}/data")
    assert [(a.version, a.state) for a in versions] == [("v0", "COMMITTED")]
    assert api.artifact(f"{project}/data:latest").version == "v0"
    _check_version(project, "v0", before, cairn_env.work / "read")

    again = _log(project, second, None)
    assert again.returncode == 0 and "logged" in again.stdout, again.stderr
    assert [a.version for a in wandb.Api().artifacts("dataset", f"{project}/data")] == [
        "v0",
        "v1",
    ]
    assert wandb.Api().artifact(f"{project}/data:latest").version == "v1"
    _check_version(project, "v1", after, cairn_env.work / "read")
    _check_version(project, "v0", before, cairn_env.work / "read-again")

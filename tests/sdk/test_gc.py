"""`cairn gc` frees what deleted versions used and nothing that a version still uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cairn as wandb
from tests import backends
from tests.conftest import CairnEnv, write


def _gc(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cairn.cli", "gc", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_gc_frees_deleted_versions_and_keeps_the_rest(
    cairn_env: CairnEnv, project: str, request: pytest.FixtureRequest
) -> None:
    src = cairn_env.work / "src"
    shared = os.urandom(3000)
    write(src / "shared.bin", shared)
    write(src / "gone.bin", os.urandom(5000))
    with wandb.init(project=project) as run:
        first = wandb.Artifact("ds", type="dataset")
        first.add_dir(str(src))
        run.log_artifact(first)
    (src / "gone.bin").unlink()
    write(src / "new.bin", os.urandom(4000))
    with wandb.init(project=project) as run:
        second = wandb.Artifact("ds", type="dataset")
        second.add_dir(str(src))
        run.log_artifact(second)
    wandb.Api().artifact(f"{project}/ds:v0").delete()

    admin: dict[str, str] = {}
    if cairn_env.kind != "embedded":
        # Blobs belong to every project: a plain user may only drop abandoned logs.
        plain = _gc("--grace", "0")
        assert plain.returncode == 0, plain.stderr
        assert "needs a server admin" in plain.stdout
        admin["CAIRN_API_KEY"] = backends.server_for(cairn_env.kind, request).admin_key
    done = _gc("--grace", "0", **admin)
    assert done.returncode == 0, done.stderr
    deleted = re.search(r"blobs: \d+ newly unused, (\d+) deleted", done.stdout)
    assert deleted, done.stdout
    # gone.bin and the first version's manifest (a shared server may have more to take).
    assert (
        int(deleted.group(1)) == 2 if cairn_env.kind == "embedded" else int(deleted.group(1)) >= 2
    )

    # The version left downloads whole, from a cache that has never seen it.
    fresh = cairn_env.work / "fresh-cache"
    os.environ["CAIRN_CACHE_DIR"] = str(fresh)  # restored by the autouse fixture's monkeypatch
    try:
        art = wandb.Api().artifact(f"{project}/ds:latest")
        root = Path(art.download(root=str(cairn_env.work / "dl")))
        assert (root / "shared.bin").read_bytes() == shared
        assert sorted(p.name for p in root.iterdir()) == ["new.bin", "shared.bin"]
        art.verify(root=str(root))
    finally:
        os.environ["CAIRN_CACHE_DIR"] = str(cairn_env.cache_dir)

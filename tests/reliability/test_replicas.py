"""Eight writer processes through two replicas (two ``cairn server`` processes on one PostgreSQL
database and one S3 bucket) log into one collection at once: no version is lost or made twice,
the indices are contiguous, ``latest`` is the last one, and every version reads back whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cairn as wandb
from tests import backends

WRITERS = 8
EACH = 3

WRITER = """
import json, sys
import cairn as wandb

project, who, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(count):
    with wandb.init(project=project, job_type="writer") as run:
        art = wandb.Artifact("shared", type="dataset")
        with art.new_file("who.txt") as f:
            f.write(f"{who}/{i}")
        run.log_artifact(art)
        art.wait()
        print(json.dumps({"who": f"{who}/{i}", "version": art.version, "digest": art.digest}))
"""


@pytest.mark.slow
def test_eight_writers_through_two_replicas_lose_nothing(
    postgres_url: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "CAIRN_S3_ENDPOINT_URL": s3.endpoint_url,
    }
    store = f"s3://{s3.new_bucket()}/replicas"
    replicas = [backends.start_server(tmp_path / "a", postgres_url, store, env=env)]
    try:
        replicas.append(backends.start_server(tmp_path / "b", postgres_url, store, env=env))
        key = backends.make_user(postgres_url, "writer")
        procs = []
        for w in range(WRITERS):
            home = tmp_path / f"writer{w}"
            child = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
            child.update(
                CAIRN_BASE_URL=replicas[w % 2].url,
                CAIRN_API_KEY=key,
                CAIRN_SILENT="true",
                CAIRN_CONFIG=str(home / "no-config.toml"),
                CAIRN_CACHE_DIR=str(home / "cache"),
            )
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, "shared", f"w{w}", str(EACH)],
                    env=child,
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        made = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            made += [json.loads(line) for line in out.splitlines()]

        total = WRITERS * EACH
        # Every log got a version of its own: none shared, none lost.
        assert len(made) == total
        assert len({m["version"] for m in made}) == total
        assert sorted(int(m["version"][1:]) for m in made) == list(range(total))

        for server in replicas:
            monkeypatch.setenv("CAIRN_BASE_URL", server.url)
            monkeypatch.setenv("CAIRN_API_KEY", key)
            api = wandb.Api()
            listed = {a.version: a.digest for a in api.artifacts("dataset", "shared/shared")}
            assert listed == {m["version"]: m["digest"] for m in made}
            assert api.artifact("shared/shared:latest").version == f"v{total - 1}"

        # Each version holds exactly what its writer logged, byte for byte.
        for m in made:
            art = wandb.Api().artifact(f"shared/shared:{m['version']}")
            root = Path(art.download(root=str(tmp_path / "read" / m["version"])))
            art.verify(str(root))
            assert (root / "who.txt").read_text() == m["who"]
    finally:
        for server in replicas:
            backends.stop_server(server.proc)

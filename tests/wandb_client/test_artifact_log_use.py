"""log_artifact → use_artifact/download → Api().artifact, with the real wandb client."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.wandb_client.conftest import WandbClient

FILES = {
    "a.txt": b"alpha\n",
    "sub/b.bin": bytes(range(256)) * 40,
    "sub/deeper/c.csv": b"x,y\n1,2\n",
}


def _write_tree(root: Path) -> Path:
    for rel, data in FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


LOG = """
import wandb
run = wandb.init(entity={entity!r}, project="p", job_type="make")
art = wandb.Artifact("ds", type="dataset", description="first", metadata={{"rows": 2}})
art.add_dir({folder!r})
art.add_file({single!r}, name="top.txt")
logged = run.log_artifact(art, aliases=["best", "candidate"], tags=["nightly"])
logged.wait()
emit({{"id": logged.id, "version": logged.version, "digest": logged.digest,
       "aliases": sorted(logged.aliases), "tags": list(logged.tags), "run": run.id,
       "state": logged.state}})
run.finish()
"""

USE = """
import os, wandb
run = wandb.init(entity={entity!r}, project="p", job_type="use")
art = run.use_artifact("ds:best")
path = art.download(root={root!r})
files = {{}}
for dirpath, _, names in os.walk(path):
    for n in names:
        full = os.path.join(dirpath, n)
        files[os.path.relpath(full, path)] = open(full, "rb").read().hex()
emit({{"version": art.version, "digest": art.digest, "files": files, "run": run.id}})
run.finish()
"""

READ = """
import wandb
api = wandb.Api()
art = api.artifact({entity!r} + "/p/ds:v0")
art.verify(root={root!r})
emit({{
    "version": art.version, "digest": art.digest, "aliases": sorted(art.aliases),
    "tags": list(art.tags), "description": art.description, "metadata": art.metadata,
    "files": sorted(f.name for f in art.files()),
    "manifest": sorted(art.manifest.entries),
    "sizes": {{k: e.size for k, e in art.manifest.entries.items()}},
    "logged_by": art.logged_by().id,
    "used_by": sorted(r.id for r in art.used_by()),
    "type": art.type, "name": art.name, "qualified": art.qualified_name,
}})
"""


def test_log_use_download_and_read(wandb_client: WandbClient, tmp_path: Path) -> None:
    folder = _write_tree(tmp_path / "data")
    single = tmp_path / "top.txt"
    single.write_bytes(b"top level\n")
    e = wandb_client.entity
    logged = wandb_client.run(LOG.format(entity=e, folder=str(folder), single=str(single))).result
    assert logged["version"] == "v0"
    assert logged["aliases"] == ["best", "candidate", "latest"]
    assert logged["tags"] == ["nightly"]
    assert logged["state"] == "COMMITTED"

    used = wandb_client.run(USE.format(entity=e, root=str(tmp_path / "dl"))).result
    want = {k: v.hex() for k, v in FILES.items()} | {"top.txt": b"top level\n".hex()}
    assert used["files"] == want
    assert used["version"] == "v0"
    assert used["digest"] == logged["digest"]

    got = wandb_client.run(READ.format(entity=e, root=str(tmp_path / "dl"))).result
    assert got["version"] == "v0"
    assert got["digest"] == logged["digest"]
    assert got["aliases"] == ["best", "candidate", "latest"]
    assert got["tags"] == ["nightly"]
    assert got["description"] == "first"
    assert got["metadata"] == {"rows": 2}
    assert got["files"] == sorted(want)
    assert got["manifest"] == sorted(want)
    assert got["sizes"]["sub/b.bin"] == len(FILES["sub/b.bin"])
    assert got["logged_by"] == logged["run"]
    assert got["used_by"] == [used["run"]]
    assert got["type"] == "dataset"
    assert got["qualified"] == f"{e}/p/ds:v0"
    # The digest is W&B's manifest digest, computed here independently of both.
    lines = sorted(
        f"{k}:{__import__('base64').b64encode(hashlib.md5(v).digest()).decode()}\n"
        for k, v in {**FILES, "top.txt": b"top level\n"}.items()
    )
    expect = hashlib.md5(("wandb-artifact-manifest-v1\n" + "".join(lines)).encode()).hexdigest()
    assert logged["digest"] == expect

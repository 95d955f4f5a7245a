"""One store, two clients: what the wandb client logs, Cairn's SDK uses, and the other way
round, with the same digests, versions, aliases and lineage."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wandb_client.conftest import WandbClient


def test_wandb_logs_cairn_uses_and_back(
    wandb_client: WandbClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    e = wandb_client.entity
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "a.txt").write_text("from wandb\n")
    (tmp_path / "w" / "big.bin").write_bytes(bytes(range(256)) * 8192)  # 2 MiB: stored alone
    logged = wandb_client.run(
        f"""
        import wandb
        with wandb.init(entity={e!r}, project="p", job_type="wandb-writer") as run:
            art = wandb.Artifact("from-wandb", type="dataset")
            art.add_dir({str(tmp_path / "w")!r})
            out = run.log_artifact(art, aliases=["best"], tags=["w"])
            out.wait()
            emit({{"digest": out.digest, "version": out.version, "run": run.id}})
        """
    ).result

    import cairn

    monkeypatch.setenv("CAIRN_BASE_URL", wandb_client.server.url)
    monkeypatch.setenv("CAIRN_API_KEY", wandb_client.api_key)
    seen = cairn.Api().artifact(f"{e}/p/from-wandb:best")
    assert (seen.digest, seen.version) == (logged["digest"], logged["version"])
    assert set(seen.aliases) >= {"best", "latest"}
    assert list(seen.tags) == ["w"]
    assert seen.logged_by().id == logged["run"]
    root = Path(seen.download(root=str(tmp_path / "cairn-dl")))
    assert (root / "a.txt").read_text() == "from wandb\n"
    assert (root / "big.bin").read_bytes() == bytes(range(256)) * 8192

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "c.txt").write_text("from cairn\n")
    with cairn.init(entity=e, project="p", job_type="cairn-user") as run:
        run.use_artifact("from-wandb:best")
        art = cairn.Artifact("from-cairn", type="model")
        art.add_dir(str(tmp_path / "c"))
        made = run.log_artifact(art, aliases=["prod"])
        made.wait()
        cairn_run = run.id
    got = wandb_client.run(
        f"""
        import os, wandb
        api = wandb.Api()
        art = api.artifact({e!r} + "/p/from-cairn:prod")
        root = art.download(root={str(tmp_path / "wandb-dl")!r})
        used = api.artifact({e!r} + "/p/from-wandb:v0").used_by()
        emit({{"digest": art.digest, "version": art.version, "aliases": sorted(art.aliases),
               "text": open(os.path.join(root, "c.txt")).read(),
               "logged_by": art.logged_by().id, "used_by": [r.id for r in used]}})
        """
    ).result
    assert (got["digest"], got["version"]) == (made.digest, made.version)
    assert got["aliases"] == ["latest", "prod"]
    assert got["text"] == "from cairn\n"
    assert got["logged_by"] == cairn_run
    assert got["used_by"] == [cairn_run]

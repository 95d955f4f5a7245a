"""``cairn sync``: what ``mode="offline"`` logged to the embedded store reaches the server."""

from __future__ import annotations

import pytest

import cairn
from tests.cli.helpers import cli, cli_json, fails
from tests.conftest import CairnEnv, write


def _log_offline(env: CairnEnv, project: str, text: str, aliases: list[str]) -> None:
    write(env.work / "data" / "rows.txt", text)
    art = cairn.Artifact("rows", type="dataset", metadata={"n": len(text)}, description=text)
    art.add_dir(str(env.work / "data"))
    with cairn.init(project=project, mode="offline") as run:
        run.log_artifact(art, aliases=aliases, tags=["offline"])


def test_sync_pushes_offline_versions_once(cairn_env: CairnEnv, project: str) -> None:
    if cairn_env.kind == "embedded":
        assert "no server" in fails("sync")
        return
    _log_offline(cairn_env, project, "one", ["first"])
    _log_offline(cairn_env, project, "two", ["best"])
    with pytest.raises(LookupError):  # offline: nothing reached the server
        cairn.Api().artifact(f"{project}/rows:latest")

    out = cli_json("sync", project)
    assert [s["pushed"] for s in out] == [True, True]
    server = cairn.Api()
    v0, v1 = (server.artifact(f"{project}/rows:{v}") for v in ("v0", "v1"))
    assert (v0.description, v0.metadata, v0.aliases, v0.tags) == (
        "one",
        {"n": 3},
        ["first"],
        ["offline"],
    )
    assert sorted(v1.aliases) == ["best", "latest"]
    assert (cairn_env.work / "data" / "rows.txt").read_text() == "two"
    got = server.artifact(f"{project}/rows:best").download(root=str(cairn_env.work / "out"))
    assert (cairn_env.work / "out" / "rows.txt").read_text() == "two" and got

    # Again: nothing is pushed and nothing changes; an alias moved offline follows.
    again = cli("sync", project)
    assert "0 version(s) pushed, 2 already there" in again
    local = cairn.Api({"base_url": ""})
    moved = local.artifact(f"{project}/rows:v0")
    moved.aliases = [*moved.aliases, "golden"]
    moved.save()
    cli("sync", project)
    assert "golden" in server.artifact(f"{project}/rows:v0").aliases
    assert len(cli_json("ls", f"{project}/rows")) == 2

"""Every artifact command against the embedded store and each server kind (``cairn_env``)."""

from __future__ import annotations

from pathlib import Path

import cairn
from tests.cli.helpers import cli, cli_json, fails, invoke
from tests.conftest import CairnEnv, write


def _folder(root: Path) -> Path:
    write(root / "train" / "a.csv", "x,y\n1,2\n")
    write(root / "train" / "b.csv", "x,y\n3,4\n")
    write(root / "README.md", "bikes\n")
    return root


def test_put_ls_info_get_verify(cairn_env: CairnEnv, project: str) -> None:
    data = _folder(cairn_env.work / "bikes")
    out = cli(
        "put",
        str(data),
        "--project",
        project,
        "--alias",
        "best",
        "--tag",
        "raw",
        "--metadata",
        '{"rows": 2}',
        "--description",
        "two rows",
    )
    assert f"{project}/bikes:v0 logged (3 files" in out
    # The name is the folder's basename; the same content again makes no new version.
    again = cli_json("put", str(data), "--project", project)
    assert again["unchanged"] is True and again["path"].endswith(f"{project}/bikes:v0")
    assert "unchanged" in cli("put", str(data), "--project", project)

    entity = cairn.Api().default_entity
    projects = cli_json("ls")
    assert {"project": f"{entity}/{project}", "collections": 1} == {
        k: v
        for k, v in next(p for p in projects if p["project"].endswith(project)).items()
        if k in ("project", "collections")
    }
    (coll,) = cli_json("ls", project)
    assert (coll["name"], coll["type"], coll["versions"]) == ("bikes", "dataset", 1)
    assert cli_json("ls", f"{entity}/{project}") == [coll]
    # PROJECT/NAME: the versions (the bug: read as ENTITY/PROJECT).
    (v0,) = cli_json("ls", f"{project}/bikes")
    assert v0["version"] == "v0" and sorted(v0["aliases"]) == ["best", "latest"]
    assert v0["tags"] == ["raw"] and v0["files"] == 3 and v0["size"] == 22
    assert cli_json("ls", f"{entity}/{project}/bikes") == [v0]
    table = cli("ls", f"{project}/bikes")
    assert table.splitlines()[0].split()[:4] == ["VERSION", "ALIASES", "TAGS", "FILES"]
    files = cli_json("ls", f"{project}/bikes:best")
    assert [(f["path"], f["size"]) for f in files] == [
        ("README.md", 6),
        ("train/a.csv", 8),
        ("train/b.csv", 8),
    ]
    info = cli_json("info", f"{project}/bikes:v0")
    assert info["metadata"] == {"rows": 2} and info["description"] == "two rows"

    root = cairn_env.work / "out"
    out = cli(
        "get",
        f"{project}/bikes:v0",
        "--root",
        str(root),
        "--include",
        "train/*",
        "--exclude",
        "*b.csv",
    )
    assert out.startswith("1 file(s)")
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["a.csv"]
    fails("verify", f"{project}/bikes:v0", "--root", str(root))  # two files missing
    cli("get", f"{project}/bikes:v0", "--root", str(root))
    assert "ok: 3 file(s) match" in cli("verify", f"{project}/bikes:v0", "--root", str(root))
    (root / "train" / "a.csv").write_text("tampered")
    fails("verify", f"{project}/bikes:v0", "--root", str(root))


def test_labels_diff_link_lineage_rm(cairn_env: CairnEnv, project: str) -> None:
    data = _folder(cairn_env.work / "bikes")
    cli("put", str(data), "--project", project)
    write(data / "train" / "c.csv", "x,y\n5,6\n")
    (data / "README.md").unlink()
    cli("put", str(data), "--project", project, "--name", "bikes")
    path = f"{project}/bikes"

    assert "aliases of" in cli("alias", "add", f"{path}:v0", "golden", "prod")
    assert sorted(cli_json("info", f"{path}:v0")["aliases"]) == ["golden", "prod"]
    cli("alias", "add", f"{path}:v1", "prod")  # an alias moves to the version named
    assert cli_json("info", f"{path}:v0")["aliases"] == ["golden"]
    cli("alias", "rm", f"{path}:v0", "golden")
    assert cli_json("info", f"{path}:v0")["aliases"] == []
    cli("tag", "add", f"{path}:v1", "reviewed", "big")
    cli("tag", "rm", f"{path}:v1", "big")
    assert cli_json("info", f"{path}:v1")["tags"] == ["reviewed"]

    d = cli_json("diff", f"{path}:v0", f"{path}:v1")
    assert (d["added"], d["removed"], d["changed"], d["unchanged"]) == (1, 1, 0, 2)
    assert {(e["path"], e["status"]) for e in d["entries"]} == {
        ("train/c.csv", "added"),
        ("README.md", "removed"),
    }
    assert "1 added, 1 removed, 0 changed, 2 unchanged" in cli("diff", f"{path}:v0", f"{path}:v1")

    out = cli("link", f"{path}:v1", f"{project}/best-bikes", "--alias", "staging")
    assert f"{project}/best-bikes:v0" in out
    linked = cairn.Api().artifact(f"{project}/best-bikes:staging")
    assert linked.digest == cairn.Api().artifact(f"{path}:v1").digest

    kinds = {c["name"]: c["kind"] for c in cli_json("ls", project)}
    assert kinds == {"bikes": "sequence", "best-bikes": "portfolio"}

    graph = cli_json("lineage", f"{path}:v1")
    kinds = {n["kind"] for n in graph["nodes"]}
    assert {"version", "run", "link"} <= kinds
    assert any(e["kind"] == "logged" for e in graph["edges"])

    fails("rm", f"{path}:v1")  # linked: refused, saying so
    cli("rm", f"{path}:v1", "--delete-links", "--delete-aliases")
    assert [v["version"] for v in cli_json("ls", path)] == ["v0"]
    bad = invoke("rm", path)  # a collection, not a version: a usage error, nothing deleted
    assert bad.exit_code == 2


def test_put_file_and_reference(cairn_env: CairnEnv, project: str) -> None:
    one = write(cairn_env.work / "model.bin", b"\x00" * 100)
    out = cli_json("put", str(one), "--project", project, "--type", "model")
    assert out["path"].endswith(f"{project}/model.bin:v0") and out["files"] == 1
    far = write(cairn_env.work / "far" / "data.txt", "kept where it is")
    ref = cli_json("put", far.parent.as_uri(), "--project", project, "--name", "far-data")
    (entry,) = cli_json("ls", f"{project}/far-data:v0")
    assert ref["files"] == 1 and entry["ref"] == (far.as_uri())


def test_errors_are_one_line(cairn_env: CairnEnv, project: str) -> None:
    assert "not found" in fails("info", f"{project}/nothing:v0")
    assert "no such file or folder" in fails("put", str(cairn_env.work / "missing"))
    assert "--name" in fails("put", str(write(cairn_env.work / "bad name!", "x")))
    assert fails("get", f"{project}/nothing:v0", "--root", str(cairn_env.work))
    # An OS error is a line too: a download root that is a file.
    data = write(cairn_env.work / "one.txt", "1")
    cli("put", str(data), "--project", project)
    assert fails("get", f"{project}/one.txt:v0", "--root", str(data))
    # --debug: the error itself, with its traceback.
    result = invoke("--debug", "info", f"{project}/nothing:v0")
    assert result.exit_code == 1 and isinstance(result.exception, LookupError)


def test_version() -> None:
    assert cli("--version").strip() == cairn.__version__
    assert cli("version").strip() == cairn.__version__

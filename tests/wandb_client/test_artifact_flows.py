"""More artifact flows of the real wandb client: dedup, drafts, distributed writers,
references, edits, deletion and links."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.wandb_client.conftest import WandbClient


def test_identical_content_is_not_a_new_version(wandb_client: WandbClient, tmp_path: Path) -> None:
    data = tmp_path / "same.txt"
    data.write_text("same bytes\n")
    script = f"""
    import wandb
    out = []
    for alias in ("first", "second"):
        with wandb.init(entity={wandb_client.entity!r}, project="p") as run:
            art = wandb.Artifact("same", type="dataset")
            art.add_file({str(data)!r})
            logged = run.log_artifact(art, aliases=[alias])
            logged.wait()
            out.append({{"version": logged.version, "id": logged.id, "digest": logged.digest}})
    api = wandb.Api()
    v0 = api.artifact({wandb_client.entity!r} + "/p/same:v0")
    emit({{"logs": out, "aliases": sorted(v0.aliases),
           "versions": [a.version for a in api.artifacts("dataset", "p/same")]}})
    """
    got = wandb_client.run(script).result
    assert [log["version"] for log in got["logs"]] == ["v0", "v0"]
    assert got["logs"][0]["digest"] == got["logs"][1]["digest"]
    assert got["aliases"] == ["first", "latest", "second"]
    assert got["versions"] == ["v0"]


def test_new_draft_adds_to_the_previous_version(wandb_client: WandbClient, tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(f"{name} content\n")
    script = f"""
    import os, wandb
    e = {wandb_client.entity!r}
    with wandb.init(entity=e, project="p") as run:
        art = wandb.Artifact("drafted", type="dataset")
        art.add_file({str(tmp_path / "a.txt")!r})
        art.add_file({str(tmp_path / "b.txt")!r})
        run.log_artifact(art).wait()
    api = wandb.Api()
    draft = api.artifact(e + "/p/drafted:latest").new_draft()
    draft.add_file({str(tmp_path / "c.txt")!r})
    draft.remove("a.txt")
    with wandb.init(entity=e, project="p") as run:
        logged = run.log_artifact(draft)
        logged.wait()
    v1 = wandb.Api().artifact(e + "/p/drafted:v1")
    root = v1.download(root={str(tmp_path / "dl")!r})
    emit({{"version": logged.version, "files": sorted(os.listdir(root)),
           "c": open(os.path.join(root, "c.txt")).read()}})
    """
    got = wandb_client.run(script).result
    assert got["version"] == "v1"
    assert got["files"] == ["b.txt", "c.txt"]
    assert got["c"] == "c.txt content\n"


def test_distributed_writers_make_one_version(wandb_client: WandbClient, tmp_path: Path) -> None:
    (tmp_path / "part0.txt").write_text("zero\n")
    (tmp_path / "part1.txt").write_text("one\n")
    writer = """
    import wandb
    with wandb.init(entity={e!r}, project="p", group="dist") as run:
        art = wandb.Artifact("shards", type="dataset")
        art.add_file({path!r})
        run.upsert_artifact(art, distributed_id="job-1")
    """
    e = wandb_client.entity
    for i in range(2):
        wandb_client.run(writer.format(e=e, path=str(tmp_path / f"part{i}.txt")))
    finish = f"""
    import os, wandb
    with wandb.init(entity={e!r}, project="p", group="dist") as run:
        art = wandb.Artifact("shards", type="dataset")
        run.finish_artifact(art, distributed_id="job-1", aliases=["done"])
    got = wandb.Api().artifact({e!r} + "/p/shards:done")
    root = got.download(root={str(tmp_path / "dl")!r})
    emit({{"version": got.version, "files": sorted(os.listdir(root))}})
    """
    got = wandb_client.run(finish).result
    assert got == {"version": "v0", "files": ["part0.txt", "part1.txt"]}


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server for a folder (for https://-style references)."""
    root = tmp_path / "served"
    root.mkdir()
    (root / "remote.txt").write_text("served over http\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_references_are_logged_and_resolved(
    wandb_client: WandbClient, tmp_path: Path, http_files: str
) -> None:
    local = tmp_path / "local-ref.txt"
    local.write_text("a local file by reference\n")
    e = wandb_client.entity
    script = f"""
    import os, wandb
    with wandb.init(entity={e!r}, project="p") as run:
        art = wandb.Artifact("refs", type="dataset")
        art.add_reference("file://{local}")
        art.add_reference({http_files + "/remote.txt"!r})
        run.log_artifact(art).wait()
    got = wandb.Api().artifact({e!r} + "/p/refs:latest")
    entries = {{k: v.ref for k, v in got.manifest.entries.items()}}
    root = got.download(root={str(tmp_path / "dl")!r})
    emit({{"entries": entries,
           "files": {{n: open(os.path.join(root, n)).read() for n in sorted(os.listdir(root))}}}})
    """
    got = wandb_client.run(script).result
    assert got["entries"] == {
        "local-ref.txt": f"file://{local}",
        "remote.txt": f"{http_files}/remote.txt",
    }
    assert got["files"] == {
        "local-ref.txt": "a local file by reference\n",
        "remote.txt": "served over http\n",
    }


def test_save_changes_aliases_description_metadata_tags(
    wandb_client: WandbClient, tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_text("f\n")
    e = wandb_client.entity
    script = f"""
    import wandb
    with wandb.init(entity={e!r}, project="p") as run:
        art = wandb.Artifact("edited", type="model", description="before")
        art.add_file({str(tmp_path / "f.txt")!r})
        run.log_artifact(art, aliases=["old"], tags=["t1"]).wait()
    api = wandb.Api()
    art = api.artifact({e!r} + "/p/edited:v0")
    art.aliases.remove("old")
    art.aliases.append("new")
    art.description = "after"
    art.metadata = {{"acc": 0.9}}
    art.tags = ["t2", "t3"]
    art.save()
    again = wandb.Api().artifact({e!r} + "/p/edited:v0")
    emit({{"aliases": sorted(again.aliases), "description": again.description,
           "metadata": again.metadata, "tags": sorted(again.tags)}})
    """
    got = wandb_client.run(script).result
    assert got == {
        "aliases": ["latest", "new"],
        "description": "after",
        "metadata": {"acc": 0.9},
        "tags": ["t2", "t3"],
    }


def test_delete_removes_a_version(wandb_client: WandbClient, tmp_path: Path) -> None:
    e = wandb_client.entity
    script = f"""
    import wandb
    for i in range(2):
        with wandb.init(entity={e!r}, project="p") as run:
            art = wandb.Artifact("gone", type="dataset")
            with art.new_file("n.txt") as f:
                f.write(str(i))
            run.log_artifact(art, aliases=["keep"] if i == 0 else []).wait()
    api = wandb.Api()
    api.artifact({e!r} + "/p/gone:v0").delete(delete_aliases=True)
    try:
        wandb.Api().artifact({e!r} + "/p/gone:v0")
        missing = False
    except Exception:
        missing = True
    left = [a.version for a in wandb.Api().artifacts("dataset", {e!r} + "/p/gone")]
    emit({{"missing": missing, "left": left}})
    """
    got = wandb_client.run(script).result
    assert got == {"missing": True, "left": ["v1"]}


def test_link_to_a_portfolio_and_the_model_registry(
    wandb_client: WandbClient, tmp_path: Path
) -> None:
    e = wandb_client.entity
    script = f"""
    import wandb
    with wandb.init(entity={e!r}, project="p") as run:
        art = wandb.Artifact("mymodel", type="model")
        with art.new_file("m.txt") as f:
            f.write("weights")
        logged = run.log_artifact(art)
        logged.wait()
        run.link_artifact(logged, "model-registry/MyModel", aliases=["staging"])
    src = wandb.Api().artifact({e!r} + "/p/mymodel:v0")
    linked = src.link("my-portfolio", aliases=["production"])
    api = wandb.Api()
    port = api.artifact({e!r} + "/uncategorized/my-portfolio:production")
    reg = api.artifact({e!r} + "/model-registry/MyModel:staging")
    out = {{
        "linked_version": linked.version, "port_digest": port.digest, "src_digest": src.digest,
        "reg_digest": reg.digest, "port_source": port.source_qualified_name,
        "links": sorted(a.qualified_name for a in src.linked_artifacts),
    }}
    reg2 = src.link("wandb-registry-model/Second")
    out["registry_path"] = reg2.qualified_name
    out["links_after"] = sorted(a.qualified_name for a in src.linked_artifacts)
    port.unlink()
    try:
        wandb.Api().artifact({e!r} + "/uncategorized/my-portfolio:production")
        out["after_unlink"] = "still there"
    except Exception:
        out["after_unlink"] = "gone"
    emit(out)
    """
    got = wandb_client.run(script).result
    assert got["linked_version"] == "v0"
    assert got["port_digest"] == got["src_digest"] == got["reg_digest"]
    assert got["port_source"] == f"{e}/p/mymodel:v0"
    assert got["after_unlink"] == "gone"
    # Cairn has no organisations: a registry path stays in the entity it was linked from.
    assert got["registry_path"] == f"{e}/wandb-registry-model/Second:v0"
    assert got["links"] == [
        f"{e}/uncategorized/my-portfolio:v0",
        f"{e}/wandb-registry-model/MyModel:v0",
    ]


def test_s3_references_resolve_through_the_store(
    wandb_client: WandbClient, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import boto3

    from tests import backends

    s3 = backends.seaweed(request)
    bucket = s3.new_bucket()
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        aws_access_key_id=s3.access_key,
        aws_secret_access_key=s3.secret_key,
        region_name="us-east-1",
    )
    client.put_object(Bucket=bucket, Key="data/obj.txt", Body=b"in a bucket\n")
    e = wandb_client.entity
    script = f"""
    import os, wandb
    with wandb.init(entity={e!r}, project="p") as run:
        art = wandb.Artifact("s3refs", type="dataset")
        art.add_reference("s3://{bucket}/data/obj.txt")
        run.log_artifact(art).wait()
    got = wandb.Api().artifact({e!r} + "/p/s3refs:latest")
    root = got.download(root={str(tmp_path / "dl")!r})
    emit({{"refs": {{k: v.ref for k, v in got.manifest.entries.items()}},
           "text": open(os.path.join(root, "obj.txt")).read()}})
    """
    got = wandb_client.run(
        script,
        AWS_ACCESS_KEY_ID=s3.access_key,
        AWS_SECRET_ACCESS_KEY=s3.secret_key,
        AWS_S3_ENDPOINT_URL=s3.endpoint_url,
        AWS_REGION="us-east-1",
    ).result
    assert got == {"refs": {"obj.txt": f"s3://{bucket}/data/obj.txt"}, "text": "in a bucket\n"}


def test_listings_of_types_collections_and_aliases(wandb_client: WandbClient) -> None:
    e = wandb_client.entity
    script = f"""
    import wandb
    with wandb.init(entity={e!r}, project="p") as run:
        for name, kind in (("listed-a", "dataset"), ("listed-b", "dataset"), ("listed-m", "model")):
            art = wandb.Artifact(name, type=kind)
            with art.new_file("x.txt") as f:
                f.write(name)
            run.log_artifact(art, aliases=["one"]).wait()
    api = wandb.Api()
    coll = api.artifact_collection("dataset", {e!r} + "/p/listed-a")
    emit({{
        "types": sorted(t.name for t in api.artifact_types({e!r} + "/p")),
        "collections": sorted(c.name for c in api.artifact_collections({e!r} + "/p", "dataset")),
        "coll": [coll.name, coll.type], "aliases": sorted(coll.aliases),
        "versions": [a.version for a in coll.artifacts()],
        "read_only": api.project("p", {e!r}).__dict__.get("_attrs", {{}}).get("readOnly"),
    }})
    """
    got = wandb_client.run(script).result
    assert got["types"] == ["dataset", "model"]
    assert got["collections"] == ["listed-a", "listed-b"]
    assert got["coll"] == ["listed-a", "dataset"]
    assert got["aliases"] == ["latest", "one"]
    assert got["versions"] == ["v0"]

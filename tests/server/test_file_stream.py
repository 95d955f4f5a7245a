"""The W&B run stream and run-file uploads through the app: the client's Basic auth, a resend
stored once, the one error shape, and upload URLs that only their grant opens."""

from __future__ import annotations

import base64
import json

from tests.server.conftest import Server, error_of


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}


def _history(offset: int, *rows: dict[str, object]) -> dict[str, object]:
    return {
        "files": {
            "wandb-history.jsonl": {"offset": offset, "content": [json.dumps(r) for r in rows]}
        }
    }


def test_the_stream_lands_on_the_run_once(server: Server) -> None:
    alice = server.client("alice")
    run = alice.post("/api/v1/projects/alice/p/runs", json={}).json()
    url = f"/files/alice/p/{run['id']}/file_stream"
    wandb = server.client()
    body = _history(0, {"_step": 0, "loss": 1.0}, {"_step": 1, "loss": 0.5})
    assert wandb.post(url, json=body, headers=_basic(server.keys["alice"])).json()["stored"] == 2
    resent = wandb.post(url, json=body, headers=_basic(server.keys["alice"]))
    assert resent.status_code == 200 and resent.json()["stored"] == 0
    end = {
        "files": {"wandb-summary.json": {"offset": 0, "content": ['{"loss": 0.5}']}},
        "complete": True,
        "exitcode": 0,
    }
    assert wandb.post(url, json=end, headers=_basic(server.keys["alice"])).json()["state"] == (
        "finished"
    )
    stored = alice.get(f"/api/v1/projects/alice/p/runs/{run['id']}").json()
    assert (stored["state"], stored["summary"], stored["exit_code"]) == (
        "finished",
        {"loss": 0.5},
        0,
    )
    rows = alice.get(f"/api/v1/projects/alice/p/runs/{run['id']}/history").json()["rows"]
    assert [r["loss"] for r in rows] == [1.0, 0.5]


def test_bad_streams_get_the_error_shape(server: Server) -> None:
    alice = server.client("alice")
    run = alice.post("/api/v1/projects/alice/p/runs", json={}).json()
    url = f"/files/alice/p/{run['id']}/file_stream"
    bad = {"files": {"wandb-history.jsonl": {"offset": 0, "content": ["not json"]}}}
    r = alice.post(url, json=bad)
    assert r.status_code == 422 and error_of(r)["code"]
    missing = alice.post("/files/alice/p/nosuchrun/file_stream", json={"files": {}})
    assert missing.status_code == 404 and error_of(missing)["code"]
    # Another user's run is missing to bob, as the REST routes say.
    bobs = server.client("bob").post(url, json={"files": {}})
    assert bobs.status_code == 404


def test_a_run_file_url_is_opened_only_by_its_grant(server: Server) -> None:
    alice = server.client("alice")
    run = alice.post("/api/v1/projects/alice/p/runs", json={}).json()
    doc = """mutation CreateRunFiles($entity: String!, $project: String!, $run: String!,
        $files: [String!]!) {
      createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run,
                             files: $files}) { runID uploadHeaders files { name uploadUrl } }
    }"""
    got = alice.post(
        "/graphql",
        json={
            "query": doc,
            "variables": {"entity": "alice", "project": "p", "run": run["id"], "files": ["a.txt"]},
        },
    ).json()
    upload = got["data"]["createRunFiles"]["files"][0]["uploadUrl"]
    anyone = server.client()
    assert anyone.put(upload, content=b"hello").status_code == 200
    token = upload.rsplit("/", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    r = anyone.put(f"/files/signed/{forged}", content=b"evil")
    assert r.status_code == 403 and error_of(r)["code"]
    from cairn.core import run_files

    svc = server.state.service.bind(server.state.accounts.principal_for_user("alice"))
    assert run_files.read(svc, "alice", "p", run["id"], "a.txt") == b"hello"

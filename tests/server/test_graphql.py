"""The GraphQL face in process: the engine's features the W&B client relies on, worded
errors, Basic auth, and the save protocol with signed URLs on a folder store."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cairn.core.signed_urls import GET, PUT, UrlSigner
from cairn.server.transfer_urls import signer
from tests.server.conftest import BASE, Server


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}


def gql(server: Server, user: str, query: str, **variables: Any) -> dict[str, Any]:
    c = server.client()
    r = c.post(
        "/graphql", json={"query": query, "variables": variables}, headers=basic(server.keys[user])
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.fixture
def server(make: Callable[..., Server]) -> Server:
    return make()


def test_basic_auth_with_a_cairn_key_names_the_viewer(server: Server) -> None:
    got = gql(
        server,
        "alice",
        "query Viewer { viewer { id entity username teams { edges { node { name } } } } }",
    )
    assert got["data"]["viewer"]["entity"] == "alice"
    assert got["data"]["viewer"]["username"] == "alice"


def test_a_bad_key_is_a_401_before_any_graphql(server: Server) -> None:
    r = server.client().post(
        "/graphql", json={"query": "{ viewer { id } }"}, headers=basic("x" * 40)
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    assert server.client().post("/graphql", json={"query": "{ viewer { id } }"}).status_code == 401


def test_fragments_aliases_include_variables_and_typename(server: Server) -> None:
    query = """
    query Q($with: Boolean!, $skip: Boolean = false) {
      me: viewer { ...Who  email @include(if: $with) username @skip(if: $skip) }
      info: serverInfo { __typename features { name } }
    }
    fragment Who on User { __typename entity }
    """
    got = gql(server, "bob", query, **{"with": False})
    assert got["data"] == {
        "me": {"__typename": "User", "entity": "bob", "username": "bob"},
        "info": {"__typename": "ServerInfo", "features": [{"name": "ARTIFACT_TAGS"}]},
    }


def test_an_unsupported_field_is_a_worded_error_not_a_500(server: Server) -> None:
    got = gql(server, "alice", "{ viewer { id favouriteColour } }")
    assert "data" not in got or got["data"] is None
    (err,) = got["errors"]
    assert err["extensions"]["code"] == "unsupported"
    assert "favouriteColour" in err["message"]
    assert "Cairn server supports the part of W&B's GraphQL API" in err["message"]


def test_a_cairn_error_keeps_its_code(server: Server) -> None:
    mutation = """
    mutation C($input: CreateArtifactInput!) { createArtifact(input: $input) { artifact { id } } }
    """
    # bob may not write alice's project: the core's rule, as for REST.
    got = gql(
        server,
        "bob",
        mutation,
        input={
            "entityName": "alice",
            "projectName": "p",
            "artifactTypeName": "dataset",
            "artifactCollectionName": "ds",
            "digest": "0" * 32,
        },
    )
    (err,) = got["errors"]
    assert err["extensions"]["code"] in ("project_not_found", "forbidden")
    assert err["path"] == ["createArtifact"]


SAVE = {
    "create": """mutation ($input: CreateArtifactInput!) {
        createArtifact(input: $input) { artifact { id state } } }""",
    "files": """mutation ($input: CreateArtifactFilesInput!) { createArtifactFiles(input: $input) {
        files { edges { node { storagePath uploadUrl uploadHeaders artifact { id } } } } } }""",
    "manifest": """mutation ($input: CreateArtifactManifestInput!) {
        createArtifactManifest(input: $input) { artifactManifest { id file { uploadUrl } } } }""",
    "commit": """mutation ($input: CommitArtifactInput!) {
        commitArtifact(input: $input) { artifact { id digest state versionIndex } } }""",
}


def _b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _save(server: Server, files: dict[str, bytes], aliases: list[str]) -> dict[str, Any]:
    """The W&B client's save sequence, by hand."""
    raw = httpx.Client(transport=server.transport, base_url=BASE)  # no key: signed URLs only
    lines = sorted(f"{p}:{_b64(d)}\n" for p, d in files.items())
    digest = hashlib.md5(("wandb-artifact-manifest-v1\n" + "".join(lines)).encode()).hexdigest()
    created = gql(
        server,
        "alice",
        SAVE["create"],
        input={
            "entityName": "alice",
            "projectName": "p",
            "artifactTypeName": "dataset",
            "artifactCollectionName": "ds",
            "digest": digest,
            "aliases": [{"alias": a, "artifactCollectionName": "ds"} for a in aliases],
        },
    )["data"]["createArtifact"]["artifact"]
    if created["state"] == "COMMITTED":
        return created
    art = created["id"]
    specs = [{"artifactID": art, "name": p, "md5": _b64(d)} for p, d in files.items()]
    nodes = gql(
        server, "alice", SAVE["files"], input={"artifactFiles": specs, "storageLayout": "V2"}
    )
    entries = {}
    for (path, data), edge in zip(
        files.items(), nodes["data"]["createArtifactFiles"]["files"]["edges"], strict=True
    ):
        node = edge["node"]
        if node["uploadUrl"] is not None:
            headers = dict(h.split(":", 1) for h in node["uploadHeaders"])
            r = raw.put(node["uploadUrl"], content=data, headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        entries[path] = {
            "digest": _b64(data),
            "size": len(data),
            "birthArtifactID": node["artifact"]["id"],
        }
    manifest = json.dumps(
        {
            "version": 1,
            "storagePolicy": "wandb-storage-policy-v1",
            "storagePolicyConfig": {"storageLayout": "V2"},
            "contents": entries,
        }
    ).encode()
    up = gql(
        server,
        "alice",
        SAVE["manifest"],
        input={
            "artifactID": art,
            "name": "wandb_manifest.json",
            "digest": _b64(manifest),
            "entityName": "alice",
            "projectName": "p",
            "runName": "r",
        },
    )["data"]["createArtifactManifest"]["artifactManifest"]["file"]["uploadUrl"]
    assert raw.put(up, content=manifest).status_code == 200
    return gql(server, "alice", SAVE["commit"], input={"artifactID": art})["data"][
        "commitArtifact"
    ]["artifact"]


FILES_OF = """query ($e: String!, $p: String!, $c: String!, $a: String!) {
  project(name: $p, entityName: $e) { artifactCollection(name: $c) { __typename
    artifactMembership(aliasName: $a) { versionIndex aliases { alias }
      files(first: 10) { edges { node { name directUrl sizeBytes } } } } } } }"""


def test_save_protocol_and_download_by_signed_url(server: Server) -> None:
    files = {"a.txt": b"alpha", "dir/b.bin": bytes(range(200))}
    made = _save(server, files, ["best"])
    assert (made["state"], made["versionIndex"]) == ("COMMITTED", 0)
    got = gql(server, "alice", FILES_OF, e="alice", p="p", c="ds", a="best")["data"]["project"]
    membership = got["artifactCollection"]["artifactMembership"]
    assert got["artifactCollection"]["__typename"] == "ArtifactSequence"
    assert {a["alias"] for a in membership["aliases"]} == {"best", "latest"}
    raw = httpx.Client(transport=server.transport, base_url=BASE)
    for edge in membership["files"]["edges"]:
        node = edge["node"]
        r = raw.get(node["directUrl"])  # no key
        assert r.content == files[node["name"]]
        part = raw.get(node["directUrl"], headers={"Range": "bytes=1-3"})
        assert part.status_code == 206
        assert part.content == files[node["name"]][1:4]
    # The same content again: answered at creation with the same version, nothing uploaded.
    again = _save(server, files, ["again"])
    assert again["id"] == made["id"] and again["state"] == "COMMITTED"
    # bob may not read alice's project: null, as for something that does not exist.
    assert (
        gql(server, "bob", FILES_OF, e="alice", p="p", c="ds", a="best")["data"]["project"][
            "artifactCollection"
        ]
        is None
    )


def test_a_held_blob_gets_no_upload_url(server: Server) -> None:
    _save(server, {"x.txt": b"held"}, [])
    got = gql(
        server,
        "alice",
        SAVE["files"],
        input={
            "storageLayout": "V2",
            "artifactFiles": [
                {
                    "artifactID": base64.b64encode(b"Artifact:abc").decode(),
                    "name": "x.txt",
                    "md5": _b64(b"held"),
                }
            ],
        },
    )
    assert got["data"]["createArtifactFiles"]["files"]["edges"][0]["node"]["uploadUrl"] is None
    # bob does not hold it (proof of possession): he is asked to upload it.
    got = gql(
        server,
        "bob",
        SAVE["files"],
        input={
            "storageLayout": "V2",
            "artifactFiles": [
                {
                    "artifactID": base64.b64encode(b"Artifact:abc").decode(),
                    "name": "x.txt",
                    "md5": _b64(b"held"),
                }
            ],
        },
    )
    assert got["data"]["createArtifactFiles"]["files"]["edges"][0]["node"]["uploadUrl"] is not None


def test_signed_urls_refuse_forged_expired_and_misused_grants(server: Server) -> None:
    raw = httpx.Client(transport=server.transport, base_url=BASE)
    data = b"signed bytes"
    digest = hashlib.md5(data).hexdigest()
    sign = signer(server.state)
    put = sign.sign(PUT, "alice", digest, 60)
    assert raw.put(f"/api/v1/blobs/signed/{put}", content=b"other bytes").status_code == 422
    assert raw.put(f"/api/v1/blobs/signed/{put}", content=data).status_code == 200
    _claims, mac = put.split(".")
    forged = sign.sign(PUT, "alice", hashlib.md5(b"x").hexdigest(), 60).split(".")[0] + "." + mac
    assert raw.put(f"/api/v1/blobs/signed/{forged}", content=b"x").status_code == 403
    assert raw.get(f"/api/v1/blobs/signed/{put}").status_code == 403  # a PUT grant is not a GET
    past = UrlSigner(server.state.config.url_signing_key.encode(), clock=lambda: 0.0)
    expired = past.sign(GET, "alice", digest, 60)
    r = raw.get(f"/api/v1/blobs/signed/{expired}")
    assert r.status_code == 403 and "expired" in r.json()["error"]["message"]
    ok = sign.sign(GET, "alice", digest, 60)
    assert raw.get(f"/api/v1/blobs/signed/{ok}/name.bin").content == data


MULTIPART_FILES = """mutation ($input: CreateArtifactFilesInput!) {
  createArtifactFiles(input: $input) { files { edges { node { storagePath uploadUrl
      uploadMultipartUrls { uploadID uploadUrlParts { partNumber uploadUrl } } } } } } }"""
COMPLETE = """mutation ($input: CompleteMultipartUploadArtifactInput!) {
    completeMultipartUploadArtifact(input: $input) { digest } }"""


def test_a_large_file_goes_up_in_parts_on_s3(make: Callable[..., Server], s3: Any) -> None:
    """What wandb-core does for files of 2 GiB or more, here with 5 MiB parts."""
    server = make(store_uri=f"s3://{s3.new_bucket()}/gql", store_options=s3.store_options())
    part_size = 5 << 20
    data = bytes(range(256)) * ((2 * part_size + 1000) // 256)
    pieces = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    digest = hashlib.md5(data).hexdigest()
    art = base64.b64encode(b"Artifact:pending").decode()
    spec = {
        "artifactID": art,
        "name": "big.bin",
        "md5": _b64(data),
        "uploadPartsInput": [
            {"partNumber": n, "hexMD5": hashlib.md5(p).hexdigest()} for n, p in enumerate(pieces, 1)
        ],
    }
    node = gql(
        server, "alice", MULTIPART_FILES, input={"artifactFiles": [spec], "storageLayout": "V2"}
    )["data"]["createArtifactFiles"]["files"]["edges"][0]["node"]
    upload = node["uploadMultipartUrls"]
    assert [p["partNumber"] for p in upload["uploadUrlParts"]] == [1, 2, 3]
    etags = []
    with httpx.Client() as direct:  # to the store itself: the server is not in the middle
        for part, piece in zip(upload["uploadUrlParts"], pieces, strict=True):
            headers = {"Content-MD5": base64.b64encode(hashlib.md5(piece).digest()).decode()}
            r = direct.put(part["uploadUrl"], content=piece, headers=headers)
            assert r.status_code == 200, r.text
            etags.append({"partNumber": part["partNumber"], "hexMD5": r.headers["ETag"]})
    done = {
        "completeMultipartAction": "Complete",
        "completedParts": etags,
        "artifactID": art,
        "storagePath": node["storagePath"],
        "uploadID": upload["uploadID"],
    }
    # Only the uploader may complete it (and so come to hold the blob).
    assert (
        gql(server, "bob", COMPLETE, input=done)["errors"][0]["extensions"]["code"] == "forbidden"
    )
    got = gql(server, "alice", COMPLETE, input=done)
    assert got["data"]["completeMultipartUploadArtifact"]["digest"] == digest
    assert (
        server.state.service.bind(server.state.accounts.principal_for_user("alice")).missing_blobs(
            [digest]
        )
        == []
    )


def test_is_project_read_only_follows_the_callers_role(server: Server) -> None:
    query = """query IsProjectReadOnly($e: String!, $p: String!) {
        project(entityName: $e, name: $p) { readOnly } }"""
    assert gql(server, "alice", query, e="alice", p="p")["data"]["project"]["readOnly"] is False
    assert gql(server, "bob", query, e="alice", p="p")["data"]["project"]["readOnly"] is True

"""A hostile corpus: hundreds of malformed, lying or oversized requests against each server kind.

Each kind is a real app with its real database and store: SQLite + a folder, PostgreSQL + a
folder, PostgreSQL + S3 (PostgreSQL is the one that cannot store NUL, and whose columns and
bind parameters have hard limits). The corpus must give:

* 0 responses 5xx, and every failure in the one error body;
* 0 bad writes: no version is committed, no blob admitted, no text with a control character
  stored; the seeded version still downloads intact;
* 0 files outside the store: the test folder holds the same files (bar the store and the
  database) before and after.

Then the same limits over real sockets: a 1 TB declared body is refused at once, and a body
shorter than its Content-Length is cut off by the read timeout instead of holding a worker.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cairn.core.db import models as m
from cairn.manifest.digest import md5_b64
from cairn.manifest.packstream import MAGIC
from cairn.server import ServerConfig
from tests import backends
from tests.server.conftest import Server, error_of, log_version, make_server

KiB = 1 << 10
MAX_JSON = 64 * KiB
MAX_PACK = 256 * KiB
KINDS = ["sqlite-folder", "postgres-folder", "postgres-s3"]

# Text no column may hold: NUL, other C0 and C1 controls, DEL, lone surrogates.
BAD_TEXT = ["\x00", "a\x00b", "\x01", "\x1b[2J", "\x7f", "\u0085", "\ud800", "x\udfff"]
# The same, as they arrive percent-encoded in a URL (the last two are not UTF-8 at all).
BAD_URL_TEXT = ["%00", "a%00b", "%01", "%1b%5b2J", "%7f", "%c2%85", "%ff", "%ed%a0%80"]
HUGE = ["99999999999999999999", "-99999999999999999999", str(2**31), str(2**63), "1e20", "NaN"]


@dataclass
class Probe:
    label: str
    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str | bytes] = field(default_factory=dict)
    user: str | None = "alice"


def as_json(value: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as \ud800 escapes; allow_nan lets NaN/Infinity out.
    return json.dumps(value).encode()


def post(label: str, url: str, value: Any, *, method: str = "POST", user: str = "alice") -> Probe:
    return Probe(label, method, url, as_json(value), {"content-type": "application/json"}, user)


def pack(layout: list[list[Any]], payload: bytes, *, magic: bytes = MAGIC) -> bytes:
    return magic + json.dumps(layout, separators=(",", ":")).encode() + b"\n" + payload


@dataclass
class Seed:
    pending: str  # a PENDING version of alice's
    committed: str  # alice's committed version, v0 of alice/p/c
    digest: str  # hex MD5 of one of its files (stored)
    files: dict[str, bytes]


def corpus(seed: Seed) -> list[Probe]:
    api = "/api/v1"
    pend, done, known = seed.pending, seed.committed, seed.digest
    never = hashlib.md5(b"never uploaded").hexdigest()
    spec = {"entity": "alice", "project": "p", "collection": "c", "type": "dataset"}
    good_manifest = {"version": 1, "contents": {"a.txt": {"digest": md5_b64(b"A"), "size": 1}}}
    out: list[Probe] = []

    # -- control characters in every text field of every body ----------------------------------
    for bad in BAD_TEXT:
        for key in ("entity", "project", "collection", "type", "description", "run_id"):
            out.append(post(f"begin {key}={bad!r}", f"{api}/versions", {**spec, key: bad}))
        out.append(post("begin distributed_id", f"{api}/versions", {**spec, "distributed_id": bad}))
        out.append(post("begin metadata key", f"{api}/versions", {**spec, "metadata": {bad: 1}}))
        out.append(
            post("begin metadata value", f"{api}/versions", {**spec, "metadata": {"k": bad}})
        )
        out.append(
            post(
                "begin metadata deep", f"{api}/versions", {**spec, "metadata": {"k": [{"j": bad}]}}
            )
        )
        runs = f"{api}/projects/alice/p/runs"
        for key in ("run_id", "name", "job_type", "group"):
            out.append(post(f"run {key}={bad!r}", runs, {key: bad}))
        out.append(post("run config key", runs, {"config": {bad: 1}}))
        out.append(post("run config value", runs, {"config": {"lr": bad}}))
        out.append(post("finish state", f"{runs}/r1/finish", {"state": bad}))
        out.append(post("use as", f"{runs}/r1/inputs", {"version_id": done, "use_as": bad}))
        out.append(post("use version id", f"{runs}/r1/inputs", {"version_id": bad}))
        patch = f"{api}/versions/{done}"
        out.append(post("patch description", patch, {"description": bad}, method="PATCH"))
        out.append(post("patch alias", patch, {"aliases": [bad]}, method="PATCH"))
        out.append(post("patch tag", patch, {"tags": [bad]}, method="PATCH"))
        out.append(post("patch metadata", patch, {"metadata": {bad: bad}}, method="PATCH"))
        commit = f"{api}/versions/{pend}/commit"
        out.append(post("commit alias", commit, {"manifest": good_manifest, "aliases": [bad]}))
        out.append(post("commit tag", commit, {"manifest": good_manifest, "tags": [bad]}))
        entry = {"digest": md5_b64(seed.files["a.txt"]), "size": 1}
        for manifest in (
            {"version": 1, "contents": {f"x{bad}": entry}},
            {"version": 1, "contents": {"x": {**entry, "extra": {"k": bad}}}},
            {"version": 1, "contents": {"x": {**entry, "ref": f"s3://b/{bad}"}}},
        ):
            out.append(post("commit manifest", commit, {"manifest": manifest}))
            out.append(
                post("entries manifest", f"{api}/versions/{pend}/entries", {"manifest": manifest})
            )
        query = f"{api}/versions/{done}/files/query"
        out.append(post("files names", query, {"names": ["a.txt", bad]}))
        out.append(post("files after", query, {"after": bad}))
        out.append(post("missing digests", f"{api}/blobs/missing", {"digests": [bad]}))
        out.append(
            post("visibility", f"{api}/projects/alice/p", {"visibility": bad}, method="PATCH")
        )

    # -- control characters in every kind of path and query parameter -------------------------
    for bad in BAD_URL_TEXT:
        coll = f"{api}/projects/alice/p/collections"
        for url in (
            f"{api}/projects/{bad}/p/collections",
            f"{api}/projects/alice/{bad}/collections",
            f"{coll}/{bad}",
            f"{coll}/c/versions",
            f"{coll}/c/versions/{bad}",
            f"{coll}/c/versions/v0{bad}",
            f"{api}/projects/alice/p/runs/{bad}",
            f"{api}/versions/{bad}",
            f"{api}/versions/{bad}/manifest",
            f"{api}/versions/{done}/files?after={bad}",
            f"{coll}?type={bad}",
            f"{coll}?after={bad}",
            f"{coll}/c/versions?tag={bad}",
            f"{coll}/c/versions?{bad}=1",
            f"{api}/blobs/{bad}",
        ):
            out.append(Probe(f"url {url}", "GET", url))
        out.append(Probe("delete", "DELETE", f"{api}/versions/{bad}"))

    # -- integers beyond their columns, or beyond Python's floats -----------------------------
    versions = f"{api}/projects/alice/p/collections/c/versions"
    for n in HUGE:
        out.append(Probe(f"after_index={n}", "GET", f"{versions}?after_index={n}"))
        out.append(Probe(f"limit={n}", "GET", f"{versions}?limit={n}"))
        out.append(Probe(f"files limit={n}", "GET", f"{api}/versions/{done}/files?limit={n}"))
        out.append(
            Probe(f"collections limit={n}", "GET", f"{api}/projects/alice/p/collections?limit={n}")
        )
    for alias in (
        "v99999999999999999999",
        "v2147483648",
        "v9223372036854775808",
        "v-1",
        "v1e3",
        "v\uff10",  # a fullwidth zero: looks like v0, is not
        "v\u0660",  # an Arabic-Indic zero
        "V0",
        "latest%20",
        "l%D0%B0test",  # a Cyrillic a
    ):
        out.append(Probe(f"alias {alias}", "GET", f"{versions}/{alias}"))
    for raw in ("1e20", "1e308", "-1", "Infinity", "-Infinity", "NaN", str(2**64), '"1e20"'):
        for url, key in (
            (f"{api}/gc", "pending_older_than_seconds"),
            (f"{api}/gc/storage", "grace_seconds"),
        ):
            out.append(
                Probe(
                    f"gc {key}={raw}",
                    "POST",
                    url,
                    f'{{"{key}": {raw}}}'.encode(),
                    {"content-type": "application/json"},
                    "root",
                )
            )
    out.append(post("repack above 1", f"{api}/gc/storage", {"repack_below": 1e300}, user="root"))
    for size in (2**63, 2**64, -1, 10**30):
        blobs = [{"digest": never, "size": size}]
        out.append(post(f"plan size {size}", f"{api}/blobs/uploads", {"blobs": blobs}))
        out.append(post(f"confirm size {size}", f"{api}/blobs/confirm", {"blobs": blobs}))
        part = {"number": 1, "md5": "AAAAAAAAAAAAAAAAAAAAAA==", "size": size}
        out.append(
            post("part size", f"{api}/blobs/{never}/parts", {"upload_id": "u", "parts": [part]})
        )
        entry = {"digest": md5_b64(seed.files["a.txt"]), "size": size}
        out.append(
            post(
                f"entry size {size}",
                f"{api}/versions/{pend}/commit",
                {"manifest": {"version": 1, "contents": {"a.txt": entry}}},
            )
        )
    for number in (0, -1, 10_001, 2**70):
        part = {"number": number, "md5": "AAAAAAAAAAAAAAAAAAAAAA==", "size": 1}
        out.append(
            post("part number", f"{api}/blobs/{never}/parts", {"upload_id": "u", "parts": [part]})
        )
    out.append(post("metadata 2**64", f"{api}/versions", {**spec, "metadata": {"n": 2**64}}))
    out.append(post("config -2**64", f"{api}/projects/alice/p/runs", {"config": {"n": -(2**64)}}))
    for raw in ("NaN", "Infinity", "1e999"):
        out.append(
            Probe(
                f"metadata {raw}",
                "POST",
                f"{api}/versions",
                f'{{"entity":"alice","project":"p","collection":"c","type":"dataset",'
                f'"metadata":{{"x":{raw}}}}}'.encode(),
                {"content-type": "application/json"},
            )
        )

    # -- digests and paths that escape, or only look right ------------------------------------
    for digest in (
        "..",
        "%2e%2e",
        "..%2f..%2fetc%2fpasswd",
        "%2fetc%2fpasswd",
        "0" * 31,
        "0" * 33,
        "A" * 32,
        "\uff10" * 32,  # fullwidth zeros
        "g" * 32,
        ("0" * 31) + "%00",
        ("0" * 32) + "%2f..",
        "%20" + "0" * 31,
        known.upper(),
    ):
        out.append(Probe(f"GET blob {digest}", "GET", f"{api}/blobs/{digest}"))
        out.append(Probe(f"PUT blob {digest}", "PUT", f"{api}/blobs/{digest}", b"x"))
        out.append(post(f"read {digest}", f"{api}/blobs/read", {"digests": [digest]}))
        out.append(post(f"complete {digest}", f"{api}/blobs/{digest}/complete", {"upload_id": "u"}))
    for path in (
        "../x",
        "/etc/passwd",
        "a/../../b",
        "a\\..\\..\\b",
        "C:\\Windows\\x",
        "a//b",
        "./a",
        "a/.",
        "..",
        ".",
        "",
        "a" * 5000,
        "x/" * 3000 + "y",
        "\u2024\u2024/x",  # one-dot leaders, not dots: a legal name, but the blob is unknown
        "%2e%2e/x",
    ):
        contents = {path: {"digest": md5_b64(b"never uploaded"), "size": 14}}
        for route in ("commit", "entries"):
            out.append(
                post(
                    f"{route} path {path[:20]!r}",
                    f"{api}/versions/{pend}/{route}",
                    {"manifest": {"version": 1, "contents": contents}},
                )
            )
    for digest in ("not base64!", "", "AAAA", md5_b64(b"x") + "==", "\u0000" * 24):
        contents = {"a.txt": {"digest": digest, "size": 1}}
        out.append(
            post(
                f"manifest digest {digest!r}",
                f"{api}/versions/{pend}/commit",
                {"manifest": {"version": 1, "contents": contents}},
            )
        )
    for manifest in (
        [],
        "x",
        {"version": 99},
        {"version": 1, "contents": []},
        {"version": 1, "contents": {"a": 1}},
        {"version": 1, "contents": {"a": {}}},
    ):
        out.append(post("manifest shape", f"{api}/versions/{pend}/commit", {"manifest": manifest}))

    # -- lying packs ------------------------------------------------------------------------
    a, b = b"A" * 100, b"B" * 50
    da, db = hashlib.md5(a).hexdigest(), hashlib.md5(b).hexdigest()
    for label, body in (
        ("short", pack([[da, 100], [db, 50]], a + b[:10])),
        ("long", pack([[da, 100]], a + b"extra bytes")),
        ("wrong digest", pack([[da, 100], [da, 50]], a + b)),
        ("swapped", pack([[db, 50], [da, 100]], a + b)),
        ("size too big", pack([[da, 10**12]], a)),
        ("size 2**64", pack([[da, 2**64]], a)),
        ("negative size", pack([[da, -100]], a)),
        ("float size", pack([[da, 100.0]], a)),
        ("duplicate", pack([[da, 100], [da, 100]], a + a)),
        ("bad digest", pack([["../../etc/passwd", 100]], a)),
        ("upper digest", pack([[da.upper(), 100]], a)),
        ("no magic", pack([[da, 100]], a, magic=b"")),
        ("other magic", pack([[da, 100]], a, magic=b"CAIRN-PACK 2\n")),
        ("header not JSON", MAGIC + b"[[\n" + a),
        ("header object", MAGIC + b'{"a": 1}\n' + a),
        ("no newline", MAGIC + json.dumps([[da, 100]]).encode() + a),
        ("header too long", MAGIC + b"[" + b" " * (5 * 1024 * 1024)),
        ("too many blobs", pack([[f"{i:032x}", 0] for i in range(20_000)], b"")),
        ("empty", b""),
        ("NUL header", MAGIC + b"\x00" * 64 + b"\n"),
        ("over the pack limit", pack([[da, MAX_PACK + 1]], a)),
    ):
        headers = {"content-type": "application/x-cairn-pack"}
        out.append(Probe(f"pack {label}", "POST", f"{api}/blobs/packs", body, headers))
    # -- lying blobs --------------------------------------------------------------------------
    for label, digest, body in (
        ("other bytes", da, b),
        ("empty for non-empty", da, b""),
        ("truncated", da, a[:-1]),
        ("one more byte", da, a + b"!"),
        ("the known digest, other bytes", known, b"not the bytes"),
    ):
        out.append(
            Probe(
                f"blob {label}",
                "PUT",
                f"{api}/blobs/{digest}",
                body,
                {"content-type": "application/octet-stream"},
            )
        )

    # -- oversized and lying sizes --------------------------------------------------------------
    big = {**spec, "description": "x" * (MAX_JSON + 1)}
    out.append(post("json over limit", f"{api}/versions", big))
    out.append(
        post(
            "names over limit",
            f"{api}/versions/{done}/files/query",
            {"names": ["n" * 100] * (MAX_JSON // 100)},
        )
    )
    out.append(post("digests over limit", f"{api}/blobs/missing", {"digests": [never] * 3000}))
    for url, method in (
        (f"{api}/blobs/packs", "POST"),
        (f"{api}/versions", "POST"),
        (f"{api}/versions/{done}/files/query", "POST"),
        (f"{api}/viewer", "GET"),
    ):
        out.append(
            Probe(
                f"declared 1 TB {url}",
                method,
                url,
                b"{}",
                {"content-length": str(1 << 40), "content-type": "application/json"},
            )
        )
    out.append(
        Probe(
            "pack over limit",
            "POST",
            f"{api}/blobs/packs",
            pack([[da, 100]], a + b"\0" * (MAX_PACK + 64 * KiB)),
        )
    )

    # -- bad keys -------------------------------------------------------------------------------
    for header in (
        "Bearer",
        "Bearer ",
        "bearer cairn_not_a_key_000000000000000000",
        "Basic YWxpY2U6c2VjcmV0",
        "Token cairn_x",
        "Bearer " + "k" * 10_000,
        "Bearer ' OR 1=1 --",
        "Bearer cairn_%00",
        "Bearer \u0441airn_lookalike_key",  # a Cyrillic es
        "Bearer cairn_\ufffd",
        "Bearer  cairn_two_spaces",
        "Bearer a b c",
        "Digest username=x",
        "\u00ff\u00fe",
    ):
        for method, url in (("GET", f"{api}/viewer"), ("POST", f"{api}/versions")):
            headers = {"authorization": header.encode(), "content-type": "application/json"}
            out.append(Probe(f"key {header[:24]!r}", method, url, as_json(spec), headers, None))

    # -- wrong or missing content types, broken JSON -----------------------------------------
    for ctype in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/xml",
        "application/x-cairn-pack",
        "",
    ):
        for url in (f"{api}/versions", f"{api}/blobs/missing", f"{api}/versions/{pend}/commit"):
            out.append(
                Probe(
                    f"content-type {ctype!r} {url}",
                    "POST",
                    url,
                    as_json(spec),
                    {"content-type": ctype},
                )
            )
    for raw_body in (
        b"{",
        b"null",
        b"[]",
        b'"x"',
        b"1e999999",
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b"\xff\xfe",
        b'{"entity": "\xc0\xae"}',
        b"\x00",
    ):
        for url in (f"{api}/versions", f"{api}/blobs/missing"):
            out.append(
                Probe(
                    f"body {raw_body[:12]!r} {url}",
                    "POST",
                    url,
                    raw_body,
                    {"content-type": "application/json"},
                )
            )
    return out


# -- running it ----------------------------------------------------------------------------------
@dataclass
class Target:
    kind: str
    server: Server
    seed: Seed
    bucket: str | None = None
    s3: Any = None


@pytest.fixture(scope="module", params=KINDS)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    kind = request.param
    tmp = tmp_path_factory.mktemp(kind)
    db_url, drop = f"sqlite:///{tmp / 'server.db'}", None
    store_uri, options, bucket, s3 = (tmp / "blobs").as_uri(), {}, None, None
    if kind.startswith("postgres"):
        why = backends.postgres_available()
        if why:
            pytest.skip(why)
        db_url, drop = backends.create_database("cairn_hostile")
    if kind.endswith("s3"):
        try:
            s3 = backends.seaweed(request)
        except backends.Unavailable as exc:
            pytest.skip(str(exc))
        bucket = s3.new_bucket()
        store_uri, options = f"s3://{bucket}/cairn", s3.store_options()
    config = ServerConfig(
        db_url=db_url,
        store_uri=store_uri,
        store_options=options,
        max_json_bytes=MAX_JSON,
        max_pack_bytes=MAX_PACK,
        pack_threshold=4 * KiB,
        pack_target=MAX_PACK // 2,
    )
    server = make_server(tmp, config)
    try:
        files = {"a.txt": b"A", "b/c.bin": bytes(range(256)) * 4}
        record = log_version(server.backend("alice"), tmp, "alice", "p", "c", files)
        begun = server.client("alice").post(
            "/api/v1/versions",
            json={"entity": "alice", "project": "p", "collection": "c", "type": "dataset"},
        )
        seed = Seed(begun.json()["id"], record.id, hashlib.md5(files["b/c.bin"]).hexdigest(), files)
        yield Target(kind, server, seed, bucket, s3)
    finally:
        for c in server._open:
            c.close()
        server.transport.close()
        server.state.db.dispose()
        if drop is not None:
            drop()


@dataclass(frozen=True)
class Snapshot:
    committed: int
    blobs: int
    packs: int
    local_files: frozenset[str]
    objects: frozenset[str]


def snapshot(t: Target) -> Snapshot:
    with t.server.state.db.read() as s:
        committed = s.scalar(select(func.count()).where(m.Version.state == "COMMITTED"))
        blobs = s.scalar(select(func.count()).select_from(m.Blob))
        packs = s.scalar(select(func.count()).select_from(m.Pack))
    # The server's folder (bar its store and database) and the working folder, where a
    # relative path that escaped would land.
    store = t.server.tmp / "blobs"
    local = frozenset(
        str(p)
        for root in (t.server.tmp, Path.cwd())
        for p in root.rglob("*")
        if p.is_file() and store not in p.parents and not p.name.startswith("server.db")
    )
    objects: frozenset[str] = frozenset()
    if t.s3 is not None:
        listing = t.s3.client().list_objects_v2(Bucket=t.bucket)
        objects = frozenset(o["Key"] for o in listing.get("Contents", []))
    return Snapshot(int(committed or 0), int(blobs or 0), int(packs or 0), local, objects)


def stored_text_problems(t: Target) -> list[str]:
    """Every stored string with a control character in it (there must be none)."""
    from cairn.validation import text_problem

    found = []
    with t.server.state.db.read() as s:
        columns = [
            m.Run.public_id,
            m.Run.name,
            m.Run.job_type,
            m.Run.group,
            m.Alias.alias,
            m.Tag.tag,
            m.VersionFile.path,
            m.Collection.name,
            m.Project.name,
            m.Version.distributed_id,
        ]
        for column in columns:
            for value in s.scalars(select(column)):
                if value is not None and text_problem(value):
                    found.append(f"{column}: {value!r}")
        for value in s.scalars(select(m.Version.description)):
            if value is not None and text_problem(value, multiline=True):
                found.append(f"description: {value!r}")
    return found


def send(server: Server, probe: Probe) -> httpx.Response:
    client = server.client(probe.user)
    return client.request(probe.method, probe.url, content=probe.body, headers=probe.headers)


def is_deliberate_501(r: httpx.Response) -> bool:
    """A server whose store cannot presign answers its presigned routes 501, by design."""
    return r.status_code == 501 and r.json()["error"]["code"] == "not_implemented"


def test_the_hostile_corpus_gets_no_5xx_and_writes_nothing(target: Target) -> None:
    probes = corpus(target.seed)
    assert len(probes) >= 300
    before = snapshot(target)
    failures = []
    statuses: dict[int, int] = {}
    for probe in probes:
        r = send(target.server, probe)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code >= 500 and not is_deliberate_501(r):
            failures.append(f"{probe.label}: {r.status_code} {r.text[:300]}")
        elif not r.is_success:
            try:
                error_of(r)
            except (AssertionError, ValueError) as exc:
                failures.append(f"{probe.label}: {r.status_code} not the error body: {exc}")
    assert failures == [], "\n".join(failures)
    assert snapshot(target) == before  # no version, blob, pack, object or stray file
    assert stored_text_problems(target) == []
    # What was there before is intact.
    alice = target.server.client("alice")
    got = alice.get(f"/api/v1/blobs/{target.seed.digest}")
    assert hashlib.md5(got.content).hexdigest() == target.seed.digest
    files = alice.get(f"/api/v1/versions/{target.seed.committed}/files").json()["files"]
    assert sorted(f["path"] for f in files) == sorted(target.seed.files)
    # Most of the corpus is refused as invalid, not merely unauthorised or unknown.
    assert statuses.get(422, 0) > len(probes) // 2, statuses


def test_a_files_query_of_100000_names(target: Target) -> None:
    """Beyond both engines' limits on bound parameters (PostgreSQL 65,535; SQLite 32,766)."""
    names = [f"n/{i:06d}" for i in range(100_000)] + ["b/c.bin"]
    server = make_server_unlimited(target)
    r = server.post(f"/api/v1/versions/{target.seed.committed}/files/query", json={"names": names})
    assert r.status_code == 200, r.text
    assert [f["path"] for f in r.json()["files"]] == ["b/c.bin"]


def make_server_unlimited(t: Target) -> httpx.Client:
    """alice's client into an app on the same state, with the default (large) body limit."""
    from cairn.server import create_app
    from tests.server.asgi import SyncASGITransport

    config = ServerConfig(db_url=t.server.state.config.db_url, store_uri="file:///unused")
    transport = SyncASGITransport(create_app(config, t.server.state))
    client = httpx.Client(
        transport=transport,
        base_url="http://cairn.test",
        headers={"Authorization": f"Bearer {t.server.keys['alice']}"},
    )
    t.server._open.append(client)
    t.server._open.append(transport)
    return client


# -- over real sockets ---------------------------------------------------------------------------
def exchange(url: str, request: bytes, *, within: float) -> tuple[int, bytes, float]:
    """Send raw bytes to a server; (status, whole response, seconds until it was complete)."""
    parsed = httpx.URL(url)
    start = time.monotonic()
    with socket.create_connection((parsed.host, parsed.port or 80), timeout=within) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < response_length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    elapsed = time.monotonic() - start
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data, elapsed


def response_length(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(head) + 4


def head(method: str, path: str, key: str, length: int, ctype: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: cairn.test\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("kind", ["server-sqlite", "server-postgres-s3"])
def test_a_declared_terabyte_is_refused_at_once(kind: str, request: pytest.FixtureRequest) -> None:
    server = backends.server_for(kind, request)
    for method, path, ctype in (
        ("POST", "/api/v1/blobs/packs", "application/x-cairn-pack"),
        ("POST", "/api/v1/versions", "application/json"),
    ):
        raw = head(method, path, server.admin_key, 1 << 40, ctype) + MAGIC
        status, data, elapsed = exchange(server.url, raw, within=10)
        assert status == 413, data[:500]
        assert elapsed < 5
        assert b'"too_large"' in data and b"x-request-id" in data.lower()


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[backends.RunningServer]:
    """A real server that waits one second for a stalled body (CAIRN_SERVER_READ_TIMEOUT)."""
    home = tmp_path_factory.mktemp("impatient")
    running = backends.start_server(
        home,
        f"sqlite:///{home / 'server.db'}",
        (home / "blobs").as_uri(),
        env={"CAIRN_SERVER_READ_TIMEOUT": "1"},
    )
    try:
        yield running
    finally:
        backends.stop_server(running.proc)


@pytest.mark.parametrize(
    ("method", "path", "ctype"),
    [
        ("POST", "/api/v1/versions", "application/json"),
        ("POST", "/api/v1/blobs/packs", "application/x-cairn-pack"),
        (
            "PUT",
            f"/api/v1/blobs/{hashlib.md5(b'x' * 1000).hexdigest()}",
            "application/octet-stream",
        ),
    ],
)
def test_a_body_shorter_than_declared_is_cut_off(
    impatient: backends.RunningServer, method: str, path: str, ctype: str
) -> None:
    raw = head(method, path, impatient.admin_key, 1000, ctype) + b'{"entity": '
    status, data, elapsed = exchange(impatient.url, raw, within=30)
    assert status == 408, data[:500]
    assert b'"timeout"' in data
    assert 1 <= elapsed < 10
    # The worker is free: the server still answers at once.
    assert httpx.get(f"{impatient.url}/readyz", timeout=5).status_code == 200


def test_a_slow_body_that_keeps_arriving_is_not_cut_off(impatient: backends.RunningServer) -> None:
    """The timeout is between bytes, not for the whole body: a slow client still gets in."""
    body = json.dumps({"digests": [hashlib.md5(b"never").hexdigest()]}).encode()
    parsed = httpx.URL(impatient.url)
    with socket.create_connection((parsed.host, parsed.port or 80), timeout=30) as sock:
        sock.sendall(
            head(
                "POST", "/api/v1/blobs/missing", impatient.admin_key, len(body), "application/json"
            )
        )
        for i in range(0, len(body), len(body) // 3 + 1):
            time.sleep(0.6)  # a slow network, under the 1 s idle limit each time
            sock.sendall(body[i : i + len(body) // 3 + 1])
        data = b""
        while b"\r\n\r\n" not in data or len(data) < response_length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:500]

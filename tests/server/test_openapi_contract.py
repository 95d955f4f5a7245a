"""The OpenAPI document tells the truth: schemathesis against the app it describes.

For every operation in ``/openapi.json``, schemathesis generates requests that fit the schema
(positive), requests that break it (negative), and requests aimed at a real version (the
seeded path parameters), a bounded number each. Every response must have a status the
document lists for that operation, and none may be a server error. Run on SQLite and on
PostgreSQL (whose types are stricter), with a folder and with S3 (presigned URLs). Then the
document's own promises: the bearer scheme, the one error body, and the media types of the
bodies that are not JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import status_code_conformance  # noqa: E402

from cairn.server import ServerConfig  # noqa: E402
from tests import backends  # noqa: E402
from tests.server.conftest import Server, log_version, make_server  # noqa: E402

# Bounded: ~40 operations x 3 strategies x this many examples, well under a minute in all.
EXAMPLES = {"sqlite": 8, "postgres": 4, "postgres-s3": 4}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/api/v1/server"}

# The pack stream is bytes; send what schemathesis generates for it as such.
schemathesis.serializer.alias("application/x-cairn-pack", "application/octet-stream")


@pytest.fixture(scope="module", params=list(EXAMPLES))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Server, dict[str, str]]]:
    kind = request.param
    tmp = tmp_path_factory.mktemp(f"contract-{kind}")
    db_url, drop = f"sqlite:///{tmp / 'server.db'}", None
    store_uri, options = (tmp / "blobs").as_uri(), {}
    if kind.startswith("postgres"):
        why = backends.postgres_available()
        if why:
            pytest.skip(why)
        db_url, drop = backends.create_database("cairn_contract")
    if kind.endswith("s3"):
        try:
            s3 = backends.seaweed(request)
        except backends.Unavailable as exc:
            pytest.skip(str(exc))
        store_uri, options = f"s3://{s3.new_bucket()}/cairn", s3.store_options()
    config = ServerConfig(db_url=db_url, store_uri=store_uri, store_options=options)
    server = make_server(tmp, config)
    try:
        record = log_version(server.backend("alice"), tmp, "alice", "p", "c", {"a.txt": b"A"})
        real = {
            "entity": "alice",
            "project": "p",
            "collection": "c",
            "alias": "v0",
            "version_id": record.id,
            "digest": "7fc56270e7a70fa81a5935b72eacbe29",  # md5(b"A")
        }
        yield kind, server, real
    finally:
        for c in server._open:
            c.close()
        server.transport.close()
        server.state.db.dispose()
        if drop is not None:
            drop()


def problems_of(operation: Any, server: Server, real: dict[str, str], examples: int) -> list[str]:
    """Run schemathesis on one operation; every broken promise, described."""
    names = {p.name for p in operation.path_parameters}
    strategies = [
        operation.as_strategy(),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        operation.as_strategy(path_parameters={k: v for k, v in real.items() if k in names}),
    ]
    auth = {"Authorization": f"Bearer {server.keys['alice']}"}
    found: list[str] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        response = case.call(headers=auth)
        label = f"{operation.label} -> {response.status_code}"
        if response.status_code >= 500 and not deliberate_501(response):
            found.append(f"{label}: server error {response.text[:200]}")
        try:
            case.validate_response(response, checks=[status_code_conformance])
        except BaseException as exc:  # noqa: BLE001 - schemathesis raises a FailureGroup
            found.append(f"{label}: {str(exc).splitlines()[0]} {response.text[:200]}")

    run()
    return found


def deliberate_501(response: Any) -> bool:
    """A folder server answers the presigned-URL routes 501 (documented), by design."""
    return bool(response.status_code == 501 and '"not_implemented"' in response.text)


def test_every_operation_answers_only_documented_statuses_and_never_5xx(
    served: tuple[str, Server, dict[str, str]],
) -> None:
    kind, server, real = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", server.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    problems: list[str] = []
    for operation in operations:
        problems += problems_of(operation, server, real, EXAMPLES[kind])
    assert problems == [], "\n".join(dict.fromkeys(problems))


# -- what the document itself promises ---------------------------------------------------------
@pytest.fixture
def doc(server: Server) -> dict[str, Any]:
    document: dict[str, Any] = server.client().get("/openapi.json").json()
    return document


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield path, method, op


def test_the_bearer_scheme_is_declared_and_applied_to_every_authenticated_route(
    doc: dict[str, Any],
) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["APIKey"] == {**schemes["APIKey"], "type": "http", "scheme": "bearer"}
    for path, method, op in operations(doc):
        if path in PUBLIC or "/signed/" in path:  # signed URLs: a grant in the URL, no key
            assert "security" not in op, (method, path)
        else:
            assert op.get("security") == [{"APIKey": []}], (method, path)


def test_every_error_status_is_documented_with_the_one_error_body(doc: dict[str, Any]) -> None:
    error_out = {"$ref": "#/components/schemas/ErrorOut"}
    for path, method, op in operations(doc):
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert errors, (method, path)
        for status, response in errors.items():
            assert response["content"] == {"application/json": {"schema": error_out}}, (
                method,
                path,
                status,
            )
        if path.startswith("/api/v1/") and path not in PUBLIC:
            assert {"401", "403", "404", "422", "500"} <= set(errors), (method, path)
    assert set(doc["components"]["schemas"]["ErrorOut"]["properties"]) == {"error"}


def test_bodies_that_are_not_json_declare_their_media_types(doc: dict[str, Any]) -> None:
    blob = doc["paths"]["/api/v1/blobs/{digest}"]
    packs = doc["paths"]["/api/v1/blobs/packs"]["post"]
    read = doc["paths"]["/api/v1/blobs/read"]["post"]
    binary = {"schema": {"type": "string", "format": "binary"}}
    assert blob["put"]["requestBody"]["content"] == {"application/octet-stream": binary}
    assert packs["requestBody"]["content"] == {"application/x-cairn-pack": binary}
    assert list(blob["get"]["responses"]["200"]["content"]) == ["application/octet-stream"]
    assert list(read["responses"]["200"]["content"]) == ["application/x-cairn-pack"]


def test_the_documented_media_types_are_the_ones_served(server: Server, tmp_path: Path) -> None:
    log_version(server.backend("alice"), tmp_path, "alice", "p", "c", {"a.txt": b"A"})
    alice = server.client("alice")
    digest = "7fc56270e7a70fa81a5935b72eacbe29"
    got = alice.get(f"/api/v1/blobs/{digest}")
    assert got.headers["content-type"] == "application/octet-stream"
    read = alice.post("/api/v1/blobs/read", json={"digests": [digest]})
    assert read.headers["content-type"] == "application/x-cairn-pack"

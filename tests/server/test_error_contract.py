"""One error body for every failure, on every route (STYLE.md habit 3).

The routes come from the app's own OpenAPI document, so a route added later is covered
without touching this file.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from starlette.exceptions import HTTPException

from cairn.backend.http import _error_from
from cairn.core.service import Service
from cairn.errors import NotFoundError, PayloadTooLargeError, ServerError, make_error
from cairn.server.limits import BodyLimit
from tests.server.conftest import Server, error_of

PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/server"),
}
PARAMS = {
    "entity": "alice",
    "project": "nope",
    "collection": "coll",
    "alias": "latest",
    "run_id": "run1",
    "version_id": "v-none",
    "other_id": "v-other",
    "digest": "0" * 32,
    "link_id": "1",
    "team": "vision",
    "user": "bob",
    "key_id": "1",
    "token": "not-a-grant",
    "name": "file.bin",
}
METHODS = ("get", "post", "put", "patch", "delete")


def routes(server: Server) -> list[tuple[str, str, str]]:
    out = []
    for template, ops in server.app.openapi()["paths"].items():
        url = template.format(**PARAMS)
        for method in ops:
            out.append((method, template, url))
    assert len(out) > 25
    return out


def test_the_openapi_document_is_served(server: Server) -> None:
    doc = server.client().get("/openapi.json").json()
    assert "/api/v1/versions/{version_id}" in doc["paths"]


def test_every_route_refuses_a_missing_or_bad_key_with_the_error_body(server: Server) -> None:
    anonymous, wrong = server.client(), server.client()
    wrong.headers["Authorization"] = "Bearer cairn_not-a-key-0000000000000000000000"
    for method, template, url in routes(server):
        if (method, template) in PUBLIC:
            continue
        if "/signed/" in template:  # a signed URL: its grant decides, whatever the key
            r = anonymous.request(method, url, json={})
            assert r.status_code == 403 and error_of(r)["code"] == "forbidden", (method, url)
            continue
        for client in (anonymous, wrong):
            r = client.request(method, url, json={})
            assert r.status_code == 401, (method, url, r.text)
            assert error_of(r)["code"] == "unauthenticated"


def test_every_route_answers_bad_requests_with_the_error_body(server: Server) -> None:
    alice = server.client("alice")
    for method, _template, url in routes(server):
        for body in ({"unknown_field": 1}, [1, 2], None):
            r = alice.request(method, url, json=body)
            if r.is_success:
                continue
            assert 400 <= r.status_code < 500, (method, url, r.status_code, r.text)
            error_of(r)


def test_wrong_methods_and_unknown_routes(server: Server) -> None:
    alice = server.client("alice")
    for _method, template, url in routes(server):
        allowed = set(server.app.openapi()["paths"][template])
        for other in set(METHODS) - allowed:
            r = alice.request(other, url)
            # Another route may match the same URL with this method (PUT /blobs/{digest}
            # takes "uploads" as a digest and refuses it); any way it fails, it is a 4xx.
            assert 400 <= r.status_code < 500, (other, url)
            if r.status_code == 405:
                assert error_of(r)["code"] == "method_not_allowed"
            else:
                error_of(r)
    for url in ("/nope", "/api/v1/nope", "/api/v1/versions/a/b/c/d"):
        r = alice.get(url)
        assert r.status_code == 404
        assert error_of(r)["code"] == "not_found"


def test_validation_errors_name_the_field(server: Server) -> None:
    alice = server.client("alice")
    r = alice.post("/api/v1/versions", json={"entity": "alice", "project": 5})
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "invalid"
    assert any(e["loc"][-1] == "project" for e in err["details"]["errors"])
    r = alice.post(
        "/api/v1/blobs/missing",
        content=b'{"digests": [',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert error_of(r)["code"] == "invalid"
    r = alice.get("/api/v1/projects/alice/p/collections", params={"limit": "many"})
    assert r.status_code == 422
    error_of(r)


def test_an_unexpected_exception_is_a_500_with_the_error_body(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Service, "get_version", boom)
    r = server.client("alice").get("/api/v1/versions/abc")
    assert r.status_code == 500
    err = error_of(r)
    assert err["code"] == "server_error"
    assert "secret" not in r.text


def test_bodies_over_the_limit_are_refused(make: Any) -> None:
    server = make(max_json_bytes=1000, max_blob_bytes=2000)
    alice = server.client("alice")
    r = alice.post("/api/v1/blobs/missing", json={"digests": ["0" * 32] * 100})
    assert r.status_code == 413
    assert error_of(r)["code"] == "too_large"
    r = alice.put(f"/api/v1/blobs/{'0' * 32}", content=b"x" * 3000)
    assert r.status_code == 413
    error_of(r)
    # The client maps the code to its own class, which is a ValueError.
    mapped = make_error(error_of(r)["code"], "x")
    assert type(mapped) is PayloadTooLargeError
    assert isinstance(mapped, ValueError)


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    """No Content-Length: the limit is enforced while the body arrives."""
    got: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            got.append(message.get("body", b""))
            if not message.get("more_body"):
                break

    chunks = [{"type": "http.request", "body": b"x" * 600, "more_body": True}] * 3

    async def receive() -> Any:
        return chunks.pop()

    async def send(_message: Any) -> None:
        return None

    scope = {"type": "http", "method": "POST", "path": "/api/v1/versions", "headers": []}
    limited = BodyLimit(app, max_json=1000, max_blob=None)
    with pytest.raises(HTTPException, match="limit of 1000 bytes") as caught:
        anyio.run(limited, scope, receive, send)
    assert caught.value.status_code == 413
    assert sum(map(len, got)) <= 600


def test_the_health_routes(server: Server) -> None:
    c = server.client()
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/readyz").json() == {"status": "ready"}
    info = c.get("/api/v1/server").json()
    assert info["presigned"] is False


def test_the_client_maps_codes_back_to_the_same_classes(server: Server) -> None:
    from cairn.errors import ArtifactNotFoundError, AuthenticationError, ValidationError

    b = server.backend("alice")
    with pytest.raises(ArtifactNotFoundError):
        b.get_version("nope")
    with pytest.raises(ValidationError):
        b.missing_blobs(["not-a-digest"])
    server.keys["alice"] = "cairn_wrong_key_000000000000000000000000"
    with pytest.raises(AuthenticationError):
        server.backend("alice").default_entity()
    # A failure without the error body (a proxy's page) still maps, by its status.
    page = httpx.Response(503, text="<html>Service Unavailable</html>")
    assert type(_error_from(page, direct=False)) is ServerError
    page = httpx.Response(404, text="<html>Not Found</html>")
    assert type(_error_from(page, direct=False)) is NotFoundError

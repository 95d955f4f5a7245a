"""A training script's ``run.log`` calls reach the server in batches, not one request each;
and the run routes answer malformed input with the one error shape."""

from __future__ import annotations

import httpx
import pytest

from cairn.backend.http import HttpBackend
from tests.server.conftest import Server, error_of


class _Counting(httpx.BaseTransport):
    """The in-process transport, noting each request's method and path."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return self.inner.handle_request(request)


def test_a_thousand_log_calls_make_a_few_requests(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cairn
    from cairn.sdk import context

    counting = _Counting(server.transport)
    monkeypatch.setenv("CAIRN_BASE_URL", "http://cairn.test")
    monkeypatch.setenv("CAIRN_API_KEY", server.keys["alice"])
    monkeypatch.setattr(context, "backend_for", lambda s: HttpBackend(s, transport=counting))
    with cairn.init(project="p", entity="alice") as run:
        for i in range(1000):
            run.log({"loss": 1 / (i + 1), "step_seen": i})
        run.summary["best"] = 1.0
    updates = [p for m, p in counting.seen if m == "PATCH"]
    # One batch when the buffer fills at 1,000 rows, one at finish (summary, exit code); a
    # third only if the 5-second timer fired on a slow machine.
    assert 1 <= len(updates) <= 3, counting.seen
    assert len(counting.seen) <= 8, counting.seen
    backend = server.backend("alice")
    rows = backend.run_history("alice", "p", run.id, min_step=0, max_step=None, limit=5000)
    assert [r["step_seen"] for r in rows] == list(range(1000))
    assert backend.get_run("alice", "p", run.id).summary["best"] == 1.0


def test_a_batch_sent_twice_is_stored_once(server: Server) -> None:
    c = server.client("alice")
    run = c.post("/api/v1/projects/alice/p/runs", json={}).json()
    url = f"/api/v1/projects/alice/p/runs/{run['id']}"
    batch = {"history": [{"_step": 0, "a": 1}, {"_step": 1, "a": 2}]}
    assert c.patch(url, json=batch).json() == {"stored": 2}
    assert c.patch(url, json=batch).json() == {"stored": 0}
    assert [r["a"] for r in c.get(f"{url}/history").json()["rows"]] == [1, 2]


@pytest.mark.parametrize(
    "body",
    [
        {"history": [{"a": 1}]},  # no _step
        {"history": [{"_step": 2}, {"_step": 1}]},  # out of order
        {"tags": ["x" * 300]},
        {"summary": "not a dict"},
    ],
)
def test_malformed_updates_get_the_error_shape(server: Server, body: dict[str, object]) -> None:
    c = server.client("alice")
    run = c.post("/api/v1/projects/alice/p/runs", json={}).json()
    r = c.patch(f"/api/v1/projects/alice/p/runs/{run['id']}", json=body)
    assert r.status_code in (400, 422), r.text
    assert error_of(r)["code"]


def test_another_user_cannot_write_or_read_a_run(server: Server) -> None:
    alice = server.client("alice")
    run = alice.post("/api/v1/projects/alice/p/runs", json={}).json()
    url = f"/api/v1/projects/alice/p/runs/{run['id']}"
    bob = server.client("bob")
    assert bob.patch(url, json={"summary": {"x": 1}}).status_code in (403, 404)
    assert bob.get(f"{url}/history").status_code in (403, 404)
    assert bob.get("/api/v1/projects/alice/p/runs").status_code in (403, 404)

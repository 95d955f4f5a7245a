"""Operations: Prometheus metrics, JSON logs with request ids, database URLs, the server folder."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import logging.config
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from cairn.cli import server_cmds
from cairn.cli.main import app as cli
from cairn.core.db.engine import normalise_url
from cairn.manifest.packstream import encode_header
from cairn.server.logs import uvicorn_log_config
from tests.server.conftest import Server


def samples(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = server.client().get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def grew(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_requests_are_counted_by_route_template_status_and_bytes(server: Server) -> None:
    alice = server.client("alice")
    before = samples(server)
    for _ in range(3):
        assert alice.get("/api/v1/viewer").status_code == 200
    missing = alice.get("/api/v1/projects/alice/nothing-here/collections/none")
    assert missing.status_code == 404
    alice.get("/no/such/path")
    body = json.dumps({"pending_older_than_seconds": 3600}).encode()
    json_type = {"content-type": "application/json"}
    assert alice.post("/api/v1/gc", content=body, headers=json_type).status_code == 200
    after = samples(server)

    viewer = {"method": "GET", "route": "/api/v1/viewer", "status": "200"}
    assert grew(before, after, "cairn_http_requests_total", **viewer) == 3
    route = "/api/v1/projects/{entity}/{project}/collections/{collection}"
    assert (
        grew(before, after, "cairn_http_requests_total", method="GET", route=route, status="404")
        == 1
    )
    # Unserved paths share one series, however many there are.
    assert (
        grew(
            before,
            after,
            "cairn_http_requests_total",
            method="GET",
            route="unmatched",
            status="404",
        )
        == 1
    )
    assert grew(before, after, "cairn_http_request_bytes_total", route="/api/v1/gc") == len(body)
    assert grew(before, after, "cairn_http_response_bytes_total", route="/api/v1/viewer") > 0
    assert (
        grew(
            before,
            after,
            "cairn_http_request_duration_seconds_count",
            method="GET",
            route="/api/v1/viewer",
        )
        == 3
    )


def test_storage_reclamation_is_counted(server: Server) -> None:
    before = samples(server)
    root = server.client("root")
    r = root.post("/api/v1/gc/storage", json={"grace_seconds": 0, "repack_below": 0.5})
    assert r.status_code == 200, r.text
    assert grew(before, samples(server), "cairn_gc_runs_total") == 1


def test_blobs_and_packs_stored_are_counted_once(make: Callable[..., Server]) -> None:
    server = make(packs=True)
    alice = server.client("alice")
    one = b"a blob of its own"
    small = [b"first small blob", b"second small blob"]
    pack = encode_header([(hashlib.md5(b).hexdigest(), len(b)) for b in small]) + b"".join(small)
    before = samples(server)
    assert alice.put(f"/api/v1/blobs/{hashlib.md5(one).hexdigest()}", content=one).is_success
    assert alice.post("/api/v1/blobs/packs", content=pack).is_success
    middle = samples(server)
    assert grew(before, middle, "cairn_blobs_stored_total") == 3
    assert grew(before, middle, "cairn_packs_stored_total") == 1
    assert grew(before, middle, "cairn_blob_bytes_stored_total") == len(one) + sum(map(len, small))
    # The same bytes again prove possession but store nothing.
    assert alice.put(f"/api/v1/blobs/{hashlib.md5(one).hexdigest()}", content=one).is_success
    assert alice.post("/api/v1/blobs/packs", content=pack).is_success
    after = samples(server)
    for name in ("cairn_blobs_stored_total", "cairn_packs_stored_total"):
        assert grew(middle, after, name) == 0, name


@pytest.fixture
def json_logs() -> Iterator[Callable[[], list[dict]]]:
    names = ["cairn", "uvicorn", "uvicorn.access", "uvicorn.error"]
    saved = {
        n: (lg.handlers[:], lg.level, lg.propagate) for n in names for lg in [logging.getLogger(n)]
    }
    logging.config.dictConfig(uvicorn_log_config("json", "info"))
    out = io.StringIO()
    (handler,) = logging.getLogger("cairn").handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    try:
        yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        for n, (handlers, level, propagate) in saved.items():
            lg = logging.getLogger(n)
            lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


def test_json_logs_carry_the_request_id(
    server: Server, json_logs: Callable[[], list[dict]]
) -> None:
    r = server.client("alice").get("/api/v1/viewer", headers={"X-Request-Id": "trace-77"})
    assert r.status_code == 200
    records = json_logs()
    access = [x for x in records if x["logger"] == "cairn.server.access"]
    assert len(access) == 1, records
    (line,) = access
    assert line["request_id"] == "trace-77" == r.headers["X-Request-Id"]
    assert line["status"] == 200 and line["route"] == "/api/v1/viewer"
    assert line["method"] == "GET" and line["duration_ms"] >= 0 and line["level"] == "info"


def test_a_server_error_is_logged_as_json_with_its_request_id(
    make: Callable[..., Server],
    json_logs: Callable[[], list[dict]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = make()

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(type(server.state.service), "bind", broken)
    r = server.client("alice").post("/api/v1/gc", json={"pending_older_than_seconds": 1})
    assert r.status_code == 500
    errors = [x for x in json_logs() if x["level"] == "error"]
    assert errors and errors[0]["request_id"] == r.headers["X-Request-Id"]
    assert "disk on fire" in errors[0].get("exception", "") + errors[0]["message"]


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_usual_database_urls_mean_postgresql_through_psycopg(given: str, meant: str) -> None:
    assert normalise_url(given) == meant


def test_the_server_has_its_own_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAIRN_DIR", str(tmp_path / "embedded"))
    monkeypatch.setenv("CAIRN_SERVER_DIR", str(tmp_path / "server"))
    assert server_cmds._db_url(None) == f"sqlite:///{tmp_path / 'server' / 'cairn.db'}"
    assert server_cmds._store_uri(None) == (tmp_path / "server" / "blobs").as_uri()
    monkeypatch.delenv("CAIRN_SERVER_DIR")
    assert "embedded" not in server_cmds._db_url(None)


@pytest.mark.parametrize(
    ("db", "says"),
    [
        ("not a url", "is not a database URL"),
        ("postgres://postgres@127.0.0.1:5432/cairn_no_such_db", "cannot open the database"),
    ],
)
def test_a_database_that_will_not_do_is_one_line(tmp_path: Path, db: str, says: str) -> None:
    result = CliRunner().invoke(
        cli, ["server", "--db", db, "--store", (tmp_path / "b").as_uri(), "--port", "1"]
    )
    assert result.exit_code == 1
    assert says in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_an_unknown_log_format_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["server", "--db", f"sqlite:///{tmp_path}/x.db", "--log-format", "xml"]
    )
    assert result.exit_code == 1 and "--log-format" in result.output

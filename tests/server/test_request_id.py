"""Every response carries an ``X-Request-Id``, and a server error is logged with it."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from cairn.core.service import Service
from tests.server.conftest import Server, error_of

HEADER = "X-Request-Id"


def test_every_kind_of_answer_carries_a_request_id(make: Callable[..., Server]) -> None:
    server = make(max_json_bytes=1000)
    alice, anonymous = server.client("alice"), server.client()
    answers = {
        "ok": alice.get("/api/v1/viewer"),
        "public": anonymous.get("/healthz"),
        "unauthenticated": anonymous.get("/api/v1/viewer"),
        "no such route": alice.get("/api/v1/nowhere"),
        "not found": alice.get("/api/v1/versions/nope"),
        "control character in the URL": alice.get("/api/v1/versions/a%00b"),
        "invalid body": alice.post("/api/v1/versions", json={"entity": 3}),
        "declared too large": alice.post(
            "/api/v1/versions", content=b"{}", headers={"content-length": str(1 << 40)}
        ),
    }
    ids = {what: r.headers.get(HEADER) for what, r in answers.items()}
    assert all(ids.values()), ids
    assert len(set(ids.values())) == len(ids)  # a new id for each request
    assert answers["declared too large"].status_code == 413
    assert answers["control character in the URL"].status_code == 422


@pytest.mark.parametrize("incoming", ["trace-4bf92f3577b34da6", "a1:b2.c3_d4/e5=f6+g7@h8"])
def test_a_sane_incoming_id_is_echoed(server: Server, incoming: str) -> None:
    r = server.client("alice").get("/api/v1/viewer", headers={HEADER: incoming})
    assert r.headers[HEADER] == incoming


@pytest.mark.parametrize("incoming", ["", "two words", "x" * 129, "semi;colon", "new\\nline"])
def test_an_insane_incoming_id_is_replaced(server: Server, incoming: str) -> None:
    r = server.client("alice").get("/api/v1/viewer", headers={HEADER: incoming})
    assert r.headers[HEADER] != incoming
    assert len(r.headers[HEADER]) == 32


def test_an_unexpected_error_is_logged_with_its_request_id(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Service, "get_version", broken)
    with caplog.at_level(logging.ERROR, logger="cairn.server"):
        r = server.client("alice").get("/api/v1/versions/x", headers={HEADER: "bug-report-1"})
    assert r.status_code == 500
    err = error_of(r)
    assert err["code"] == "server_error"
    assert r.headers[HEADER] == "bug-report-1" == err["details"]["request_id"]
    assert "bug-report-1" in err["message"]
    (record,) = [rec for rec in caplog.records if "bug-report-1" in rec.getMessage()]
    assert record.exc_info is not None and "a bug" in str(record.exc_info[1])

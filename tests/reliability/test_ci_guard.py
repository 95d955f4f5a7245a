"""CI cannot be green by accident: with every backend kind required (``CI=true`` or
``CAIRN_REQUIRE_BACKENDS=all``), a missing PostgreSQL or S3 fails the run instead of skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import backends

ROOT = Path(__file__).resolve().parents[2]


def _pytest(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("CAIRN_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_naming.py"],
        cwd=ROOT,
        env={**base, "CAIRN_TEST_WEED": str(tmp_path / "no-such-weed"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("switch", [{"CI": "true"}, {"CAIRN_REQUIRE_BACKENDS": "all"}])
def test_a_required_run_without_s3_fails_at_once(switch: dict[str, str], tmp_path: Path) -> None:
    done = _pytest(switch, tmp_path)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "SeaweedFS is not installed" in done.stdout + done.stderr


def test_an_ordinary_run_without_s3_still_runs(tmp_path: Path) -> None:
    done = _pytest({}, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_unavailable_kind_fails_rather_than_skips_when_required() -> None:
    before = backends.all_required()
    try:
        backends.require_all(True)
        with pytest.raises(pytest.fail.Exception, match="every backend kind is required"):
            backends.unavailable("PostgreSQL is down")
        backends.require_all(False)
        with pytest.raises(pytest.skip.Exception):
            backends.unavailable("PostgreSQL is down")
    finally:
        backends.require_all(before)


def test_the_switches() -> None:
    assert backends.required_by({"CI": "true"})
    assert backends.required_by({"CAIRN_REQUIRE_BACKENDS": "all"})
    assert not backends.required_by({})
    assert not backends.required_by({"CI": "false"})

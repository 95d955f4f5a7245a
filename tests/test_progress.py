"""Progress: a bar on a terminal, plain lines in logs, nothing when silent or small."""

from __future__ import annotations

import io

import pytest

from cairn.sdk import progress
from cairn.sdk.progress import MIN_BYTES, progress_bar


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(monkeypatch: pytest.MonkeyPatch, err: io.StringIO, total: int, silent: bool) -> str:
    monkeypatch.setattr(progress.sys, "stderr", err)
    with progress_bar(total, "uploading", silent=silent) as advance:
        advance(total // 2)
        advance(total - total // 2)
    return err.getvalue()


@pytest.mark.parametrize(
    ("silent", "total"),
    [(True, MIN_BYTES * 2), (False, MIN_BYTES // 2)],  # CAIRN_SILENT=true; too small for a bar
)
def test_quiet_when_silent_or_small(
    monkeypatch: pytest.MonkeyPatch, silent: bool, total: int
) -> None:
    assert _run(monkeypatch, FakeTerminal(), total, silent) == ""
    assert _run(monkeypatch, io.StringIO(), total, silent) == ""


def test_terminal_gets_a_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _run(monkeypatch, FakeTerminal(), MIN_BYTES * 2, silent=False)
    assert "uploading" in out
    assert "\r" in out  # redrawn in place


def test_logs_get_whole_lines_with_the_final_total(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _run(monkeypatch, io.StringIO(), MIN_BYTES * 2, silent=False)
    assert "\r" not in out
    lines = out.splitlines()
    assert lines and all(line.startswith("uploading") for line in lines)
    assert "100%" in lines[-1]

"""Progress bars: drawn for big transfers on a terminal, quiet otherwise."""

from __future__ import annotations

import io

import pytest

from cairn.sdk import progress
from cairn.sdk.progress import MIN_BYTES, progress_bar


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("silent", "tty", "total", "drawn"),
    [
        (False, True, MIN_BYTES * 2, True),
        (True, True, MIN_BYTES * 2, False),  # CAIRN_SILENT=true
        (False, False, MIN_BYTES * 2, False),  # not a terminal (CI logs, pipes)
        (False, True, MIN_BYTES // 2, False),  # too small to be worth a bar
    ],
)
def test_progress_bar_is_drawn_only_when_useful(
    monkeypatch: pytest.MonkeyPatch, silent: bool, tty: bool, total: int, drawn: bool
) -> None:
    err = FakeTerminal() if tty else io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", err)
    with progress_bar(total, "uploading", silent=silent) as advance:
        advance(total // 2)
        advance(total - total // 2)
    assert ("uploading" in err.getvalue()) is drawn

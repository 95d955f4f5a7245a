"""The client-side history buffer (cairn.sdk.history): batches by size and by time, and a
failed send loses nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from cairn.errors import StorageError
from cairn.records import RunUpdate
from cairn.sdk.history import History


class _Sink:
    def __init__(self, fail: int = 0) -> None:
        self.updates: list[RunUpdate] = []
        self.fail = fail
        self.sent = threading.Event()

    def __call__(self, update: RunUpdate) -> None:
        if self.fail:
            self.fail -= 1
            raise StorageError("the server is away")
        self.updates.append(update)
        self.sent.set()


def _history(sink: _Sink, **kw: Any) -> History:
    summary: dict[str, object] = {}
    fields = {"summary": summary, "config": {"k": 1}}
    return History(sink, fields.__getitem__, start_step=0, summary=summary, **kw)


def test_rows_go_in_batches_of_the_buffer_size() -> None:
    sink = _Sink()
    h = _history(sink, flush_rows=10, flush_seconds=3600)
    for i in range(25):
        h.log({"i": i}, None, None)
    assert [len(u.history) for u in sink.updates] == [10, 10]
    h.flush(final=True)
    h.close()
    assert [len(u.history) for u in sink.updates] == [10, 10, 5]
    assert [r["i"] for u in sink.updates for r in u.history] == list(range(25))


def test_rows_go_when_the_interval_passes_without_more_logging() -> None:
    sink = _Sink()
    h = _history(sink, flush_rows=1000, flush_seconds=0.05)
    h.log({"i": 0}, None, None)
    assert sink.sent.wait(10), "the timer never sent the buffered row"
    h.close()
    assert [r["i"] for r in sink.updates[0].history] == [0]


def test_a_failed_send_keeps_rows_and_marks_for_the_next() -> None:
    sink = _Sink(fail=1)
    h = _history(sink, flush_rows=1000, flush_seconds=3600)
    h.log({"i": 0}, None, None)
    h.mark("config")
    with pytest.raises(StorageError):
        h.flush()
    h.log({"i": 1}, None, None)
    h.flush()
    h.close()
    (update,) = sink.updates
    assert [r["i"] for r in update.history] == [0, 1]
    assert update.config == {"k": 1}
    assert update.summary is not None and update.summary["i"] == 1

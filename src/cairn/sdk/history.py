"""A run's history on the client: W&B's step rules, and rows sent in batches.

Steps follow W&B: each ``log(data)`` makes a row at the current step and moves to the next;
``commit=False`` keeps adding to the current row; ``step=N`` above the current step finishes the
current row and moves to N (the row at N is written when a later step, ``commit=True`` or the
end of the run finishes it); a ``step`` below the current one is ignored with a warning. Each
row gets ``_step``, ``_runtime`` (seconds since the run started) and ``_timestamp`` (Unix time).

Finished rows wait in a buffer that goes to the backend in one request when it holds
:data:`FLUSH_ROWS` rows, when :data:`FLUSH_SECONDS` have passed (a background thread checks), and
when the run finishes: never a request per ``log`` call.
"""

from __future__ import annotations

import copy
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from cairn.records import RunUpdate
from cairn.sdk.run_values import flatten, merge_nested, to_json_value

FLUSH_ROWS = 1000
FLUSH_SECONDS = 5.0


class History:
    """The rows of one active run, and which of its other fields changed since the last send.

    ``send`` delivers a :class:`RunUpdate` (one backend request); ``value(name)`` gives the
    current value of a marked field (``summary``, ``config``, ``tags``, ``notes``). A failed
    send keeps its rows and marks to go with the next one.
    """

    def __init__(
        self,
        send: Callable[[RunUpdate], None],
        value: Callable[[str], Any],
        *,
        start_step: int,
        summary: dict[str, Any],
        flush_rows: int = FLUSH_ROWS,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self._send = send
        self._value = value
        self.step = start_step
        self.summary = summary  # the run's Summary object reads and writes this same dict
        self._pending: dict[str, Any] = {}
        self._rows: list[dict[str, Any]] = []
        self._dirty: set[str] = set()
        self._started = time.time()
        self._lock = threading.Lock()  # the buffer
        self._send_lock = threading.Lock()  # one send at a time, so batches arrive in order
        self._flush_rows = flush_rows
        self._flush_seconds = flush_seconds
        self._last_send = time.monotonic()
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    def mark(self, name: str) -> None:
        """``name`` changed: send its value with the next batch."""
        with self._lock:
            self._dirty.add(name)
        self._start_timer()

    # -- logging -------------------------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None, commit: bool | None) -> None:
        """Add ``data`` to the history (W&B's ``run.log``).

        Raises:
            TypeError: ``data`` is not a dict, or holds a value with no JSON form.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"run.log takes a dict, got {type(data).__name__}")
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
            raise TypeError(f"step must be an int, got {step!r}")
        values = {str(k): to_json_value(v) for k, v in data.items()}
        with self._lock:
            if step is not None:
                if step < self.step:
                    warnings.warn(
                        f"Tried to log to step {step} that is less than the current step "
                        f"{self.step}. Steps must be monotonically increasing, so this data "
                        "will be ignored.",
                        UserWarning,
                        stacklevel=3,
                    )
                    return
                if step > self.step:
                    self._finish_row()
                    self.step = step
            self._pending.update(values)
            self._pending["_timestamp"] = time.time()
            if commit or (step is None and commit is None):
                self._finish_row()
                self.step += 1
            due = len(self._rows) >= self._flush_rows
        if due:
            self.flush()
        self._start_timer()

    def _finish_row(self) -> None:
        if not self._pending:
            return
        self._pending["_step"] = self.step
        self._pending["_runtime"] = round(time.time() - self._started, 6)
        self._rows.append(flatten(self._pending))
        merge_nested(self.summary, self._pending)
        self._dirty.add("summary")
        self._pending = {}

    # -- sending -------------------------------------------------------------------------------
    def flush(self, *, final: bool = False, **extra: Any) -> None:
        """Send the finished rows and the marked fields in one request (none if nothing
        changed); ``extra`` fields go too. ``final`` first finishes the row being built.
        Raises what the backend raises; rows and marks are then kept for the next flush."""
        with self._send_lock:
            with self._lock:
                if final:
                    self._finish_row()
                rows, self._rows = self._rows, []
                names, self._dirty = self._dirty, set()
                fields = {n: copy.deepcopy(self._value(n)) for n in names}
            fields.update(extra)
            if not rows and not fields:
                return
            try:
                self._send(RunUpdate(history=tuple(rows), **fields))
            except BaseException:
                with self._lock:
                    self._rows[:0] = rows
                    self._dirty |= names
                raise
            self._last_send = time.monotonic()

    def _start_timer(self) -> None:
        with self._lock:
            if self._timer is not None or self._stop.is_set():
                return
            self._timer = threading.Thread(target=self._tick, name="cairn-history", daemon=True)
        self._timer.start()

    def _tick(self) -> None:
        while not self._stop.wait(self._flush_seconds / 5):
            if time.monotonic() - self._last_send < self._flush_seconds:
                continue
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - kept, sent again (and raised) at finish
                self._last_send = time.monotonic()

    def close(self) -> None:
        """Stop the background sender (without sending)."""
        self._stop.set()
        timer = self._timer
        if timer is not None and timer is not threading.current_thread():
            timer.join()

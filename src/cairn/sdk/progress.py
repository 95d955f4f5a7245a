"""Progress of large transfers, drawn by tqdm where the user is looking.

* on a terminal: a bar on stderr (stdout is the user's);
* in Jupyter: tqdm's notebook widget, when ipywidgets is installed (else the text bar);
* elsewhere (CI logs, pipes, files): one plain line every ``LINE_SECONDS``, since a bar
  redrawn with carriage returns is unreadable in a log.

Quiet when ``CAIRN_SILENT=true`` or when the transfer is small enough that a bar would only
flicker.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

MIN_BYTES = 32 << 20
LINE_SECONDS = 10.0


class _Lines:
    """A file for tqdm that turns each carriage-return redraw into one log line."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self._out.write(line + "\n")

    def flush(self) -> None:
        self._out.flush()


def _in_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def _bar(total: int, label: str) -> Any:
    common: dict[str, Any] = {
        "total": total,
        "desc": label,
        "unit": "B",
        "unit_scale": True,
        "unit_divisor": 1024,
    }
    if _in_notebook():
        try:
            from tqdm.notebook import tqdm as notebook_tqdm

            return notebook_tqdm(**common)
        except ImportError:  # no ipywidgets: the text bar below still works in a notebook
            pass
    from tqdm import tqdm

    if sys.stderr.isatty():
        return tqdm(file=sys.stderr, leave=False, **common)
    return tqdm(file=_Lines(sys.stderr), mininterval=LINE_SECONDS, ascii=True, **common)


@contextmanager
def progress_bar(total: int, label: str, *, silent: bool) -> Iterator[Callable[[int], None]]:
    """Yield a thread-safe ``advance(nbytes)`` callback that reports ``total`` bytes' progress."""
    if silent or total < MIN_BYTES:
        yield lambda _n: None
        return
    lock = threading.Lock()
    bar = _bar(total, label)
    try:

        def advance(n: int) -> None:
            with lock:
                bar.update(n)

        yield advance
    finally:
        bar.close()

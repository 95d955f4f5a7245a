"""Progress bars for large transfers: shown on a terminal, quiet otherwise.

Quiet when stderr is not a terminal, when ``CAIRN_SILENT=true``, or when the transfer is small
enough that a bar would only flicker.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

MIN_BYTES = 32 << 20


@contextmanager
def progress_bar(total: int, label: str, *, silent: bool) -> Iterator[Callable[[int], None]]:
    """Yield a thread-safe ``advance(nbytes)`` callback, drawing a bar when it is useful."""
    if silent or total < MIN_BYTES or not sys.stderr.isatty():
        yield lambda _n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    lock = threading.Lock()
    with Progress(
        f"[bold]{label}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),  # stdout is the user's
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)

        def advance(n: int) -> None:
            with lock:
                bar.advance(task, n)

        yield advance

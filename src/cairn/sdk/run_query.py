"""``Api().runs(path, filters)``: the runs of a project, fetched a page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

from cairn.backend.base import Backend
from cairn.config import Settings
from cairn.errors import ValidationError
from cairn.sdk.run import Run


class Runs:
    """A lazy sequence of runs passing W&B-style ``filters`` (see
    :mod:`cairn.core.run_filters`), ordered by creation (``-created_at``: newest first, the
    default; ``+created_at``: oldest first). Iterating fetches ``per_page`` at a time; ``len()``
    and indexing fetch everything first."""

    def __init__(
        self,
        backend: Backend,
        settings: Settings,
        entity: str,
        project: str,
        *,
        filters: dict[str, Any] | None,
        order: str,
        per_page: int,
    ) -> None:
        if order not in ("-created_at", "+created_at", "created_at"):
            raise ValidationError(f"order={order!r}: use '-created_at' or '+created_at'")
        if filters is not None and not isinstance(filters, dict):
            raise ValidationError(f"filters must be a dict, got {type(filters).__name__}")
        self._backend = backend
        self._settings = settings
        self.entity = entity
        self.project = project
        self.filters = filters or {}
        self._newest_first = order == "-created_at"
        self._per_page = per_page
        self._all: list[Run] | None = None

    def __iter__(self) -> Iterator[Run]:
        if self._all is not None:
            yield from self._all
            return
        after: int | None = None
        while True:
            records, after = self._backend.list_runs(
                self.entity,
                self.project,
                filters=self.filters,
                newest_first=self._newest_first,
                after=after,
                limit=self._per_page,
            )
            for r in records:
                yield Run._from_record(r, self._backend, self._settings)
            if after is None:
                return

    def _list(self) -> list[Run]:
        if self._all is None:
            self._all = list(iter(self))
        return self._all

    def __len__(self) -> int:
        return len(self._list())

    @overload
    def __getitem__(self, index: int) -> Run: ...
    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...
    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        return self._list()[index]

    def __repr__(self) -> str:
        return f"<Runs {self.entity}/{self.project}>"

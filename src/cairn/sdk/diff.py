"""``cairn.diff(a, b)``: how version ``b`` differs from version ``a``.

The counts and value changes come at once (the server counts them in its database); the
differing entries are fetched lazily a page at a time, so a diff of two million-entry versions
never holds either manifest in memory, on the client or the server::

    d = cairn.diff("dataset:v3", "dataset:v4")
    d.added, d.removed, d.changed, d.unchanged   # entry counts
    d.metadata                                   # (ValueChange(key, status, old, new), ...)
    for e in d.entries():                        # DiffEntry(path, status, old_*, new_*)
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from cairn.backend.base import Backend
from cairn.errors import ValidationError
from cairn.records import DiffEntry, DiffSummary, ValueChange
from cairn.sdk.artifact import Artifact

__all__ = ["ArtifactDiff", "DiffEntry", "ValueChange", "diff"]

STATUSES = ("added", "removed", "changed")


@dataclass(frozen=True)
class ArtifactDiff:
    """Entry counts, metadata and field changes from ``a`` to ``b`` (both version ids);
    :meth:`entries` streams the entries that differ."""

    a: str
    b: str
    added: int
    removed: int
    changed: int
    unchanged: int
    metadata: tuple[ValueChange, ...]
    fields: tuple[ValueChange, ...]
    _backend: Backend = field(repr=False, compare=False)

    @classmethod
    def _from_summary(cls, s: DiffSummary, backend: Backend) -> ArtifactDiff:
        return cls(
            s.a, s.b, s.added, s.removed, s.changed, s.unchanged, s.metadata, s.fields, backend
        )

    @property
    def identical(self) -> bool:
        """No entry and no value differs."""
        return not (self.added or self.removed or self.changed or self.metadata or self.fields)

    def entries(self, status: str | None = None, per_page: int = 1000) -> Iterator[DiffEntry]:
        """Every entry added, removed or changed (or only those of one ``status``), in path
        order, fetched ``per_page`` at a time. Raises :class:`~cairn.errors.ValidationError`
        for an unknown status."""
        if status is not None and status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        after: str | None = None
        while True:
            page, after = self._backend.diff_entries(self.a, self.b, after=after, limit=per_page)
            for e in page:
                if status is None or e.status == status:
                    yield e
            if after is None:
                return


def diff(a: Artifact | str, b: Artifact | str) -> ArtifactDiff:
    """How version ``b`` differs from version ``a``; the two may be of different collections.

    Each is a logged :class:`~cairn.Artifact` or a path ``Api().artifact()`` takes
    (``[[entity/]project/]name[:alias]``). Raises :class:`~cairn.errors.ArtifactNotLoggedError`
    for a draft and :class:`~cairn.errors.ArtifactNotFoundError` for a version the caller
    cannot read.
    """
    if isinstance(a, str) or isinstance(b, str):
        from cairn.sdk.api import Api

        api = Api()
        a = api.artifact(a) if isinstance(a, str) else a
        b = api.artifact(b) if isinstance(b, str) else b
    ra, rb = a._ensure_logged("diff"), b._ensure_logged("diff")
    assert a._backend is not None
    return ArtifactDiff._from_summary(a._backend.diff_summary(ra.id, rb.id), a._backend)

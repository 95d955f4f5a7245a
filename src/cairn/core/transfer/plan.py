"""Which blobs a caller lacks, and how each is to travel.

A blob the caller lacks (:func:`lacking`: the store does not hold it, or the caller does not,
:mod:`cairn.core.possession`) travels one of four ways (:func:`route`)::

    size < pack threshold            PACK       many to a pack stream, through the server
    no presigning store              STREAM     one PUT /blobs/{digest}, through the server
    size <= store's single-PUT max   PUT        one presigned PUT to the blob's own key,
                                                Content-MD5 signed in (the store checks it)
    larger                           MULTIPART  presigned parts to a staging key, verified
                                                and published on completion

The part-size rule lives here and nowhere else (:func:`part_size`): the S3 store's own
multipart puts and the presigned uploads a server hands out both ask it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol

from cairn.wire import MAX_PARTS, MIN_PART_SIZE


class Route(StrEnum):
    PACK = "pack"
    STREAM = "stream"
    PUT = "put"
    MULTIPART = "multipart"


class _Lacks(Protocol):
    def missing_blobs(self, digests: Iterable[str]) -> list[str]: ...


def lacking(service: _Lacks, digests: Iterable[str]) -> list[str]:
    """Which of ``digests`` the caller of a bound ``service`` must upload, in the order asked.

    Missing is what the store lacks *or* the caller does not hold: another project's blob is
    missing exactly like one nobody has (:mod:`cairn.core.possession`).

    Raises:
        ValidationError: a digest is not a hex MD5.
    """
    return service.missing_blobs(digests)


def part_size(size: int, preferred: int) -> int:
    """The part size for a multipart upload of ``size`` bytes.

    ``preferred`` (the store's setting), raised to S3's 5 MiB minimum and so that no blob
    needs more than S3's 10,000 parts.
    """
    return max(preferred, MIN_PART_SIZE, -(-size // MAX_PARTS))


def part_count(size: int, part: int) -> int:
    """How many parts of ``part`` bytes carry ``size`` bytes (an empty blob is one part)."""
    return max(1, -(-size // part))


def route(
    size: int, *, pack_threshold: int | None, presigned: bool, single_put_max: int | None
) -> Route:
    """How a blob of ``size`` bytes travels (see the module docstring).

    ``pack_threshold`` None: the server takes no pack streams. ``single_put_max`` None: no
    limit on a single PUT (only meaningful with ``presigned``).
    """
    if pack_threshold is not None and size < pack_threshold:
        return Route.PACK
    if not presigned:
        return Route.STREAM
    if single_put_max is None or size <= single_put_max:
        return Route.PUT
    return Route.MULTIPART

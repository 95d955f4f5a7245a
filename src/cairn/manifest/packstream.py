"""The pack stream: many blobs in one body, for uploads and downloads of small files.

One request per 4 KiB blob costs an object store (and an HTTP server) far more than the bytes
do, so small blobs travel many to a body. A pack stream is a one-line header that lists each
blob's hex MD5 and size, in order, followed by their bytes back to back::

    CAIRN-PACK 1\\n
    [["9e107d9d372bb6826bd81d3542a419d6", 4096], ["e4d909c290d0fb1ca068ffaddf22cbd0", 17], …]\\n
    <4096 bytes of the first blob><17 bytes of the second>…

The header is compact JSON (no newline inside), so a reader finds its end with one bounded
``readline``. Nothing in the stream is trusted: whoever reads one hashes every blob against its
listed digest before using it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import IO

from cairn.errors import ValidationError
from cairn.manifest.digest import is_hex_md5

MAGIC = b"CAIRN-PACK 1\n"
MEDIA_TYPE = "application/x-cairn-pack"
# A digest and a size take under 48 bytes of JSON, so this bounds a header of 100,000 blobs.
MAX_HEADER_BYTES = 48 * 100_000

Layout = list[tuple[str, int]]


def encode_header(layout: Iterable[tuple[str, int]]) -> bytes:
    """The header that announces ``layout`` (hex MD5, size) pairs, in stream order."""
    pairs = [[d, int(n)] for d, n in layout]
    return MAGIC + json.dumps(pairs, separators=(",", ":")).encode("ascii") + b"\n"


def stream_size(layout: Sequence[tuple[str, int]]) -> int:
    """The byte length of a whole pack stream for ``layout`` (its Content-Length)."""
    return len(encode_header(layout)) + sum(n for _, n in layout)


def read_header(stream: IO[bytes], *, max_blobs: int, max_bytes: int | None = None) -> Layout:
    """Read and check a pack stream's header; the stream is left at the first blob's bytes.

    Raises:
        ValidationError: not a pack stream, a malformed or oversized header, a digest that is
            not a lowercase hex MD5, a size that is not a non-negative integer, a digest listed
            twice, more than ``max_blobs`` blobs, or more than ``max_bytes`` bytes in all.
    """
    magic = stream.read(len(MAGIC))
    if magic != MAGIC:
        raise ValidationError(f"not a pack stream: it must start with {MAGIC!r}")
    line = stream.readline(MAX_HEADER_BYTES + 1)
    if not line.endswith(b"\n"):
        raise ValidationError(
            f"the pack header must be one line of JSON of at most {MAX_HEADER_BYTES} bytes"
        )
    try:
        pairs = json.loads(line)
    except ValueError:
        raise ValidationError("the pack header is not valid JSON") from None
    if not isinstance(pairs, list):
        raise ValidationError("the pack header must be a JSON list of [digest, size] pairs")
    if len(pairs) > max_blobs:
        raise ValidationError(
            f"{len(pairs)} blobs in one pack; send at most {max_blobs} per pack",
            details={"limit": max_blobs},
        )
    layout: Layout = []
    seen: set[str] = set()
    total = 0
    for item in pairs:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not is_hex_md5(item[0])
            or type(item[1]) is not int
            or item[1] < 0
        ):
            raise ValidationError(
                f"pack header entry {str(item)[:80]!r} is not a [lowercase hex MD5, size] pair"
            )
        digest, size = item[0], item[1]
        if digest in seen:
            raise ValidationError(f"blob {digest} is listed twice in one pack")
        seen.add(digest)
        total += size
        layout.append((digest, size))
    if max_bytes is not None and total > max_bytes:
        raise ValidationError(
            f"the pack announces {total} bytes; one pack may hold at most {max_bytes}",
            details={"limit": max_bytes},
        )
    return layout


def read_exactly(stream: IO[bytes], n: int) -> bytes:
    """``n`` bytes of ``stream``, or fewer only where it ends (raw reads may return short)."""
    first = stream.read(n)
    if len(first) == n or not first:
        return first
    chunks = [first]
    left = n - len(first)
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

"""Entry and version digests, byte-compatible with W&B.

* An entry digest is the base64 (standard alphabet, padded) MD5 of the file's bytes; blobs are
  named in stores and caches by the same MD5 in lowercase hex.
* A version digest is the hex MD5 of ``"wandb-artifact-manifest-v1\\n"`` followed by
  ``"{path}:{entry digest}\\n"`` for every entry in code-point order of path.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from typing import IO, Any

from cairn.errors import ValidationError

CHUNK = 1 << 20
EMPTY_FILE_DIGEST = "1B2M2Y8AsgTpgAmY7PhCfg=="
EMPTY_ARTIFACT_DIGEST = "64e7c61456b10382e2f3b571ac24b659"
_HEADER = b"wandb-artifact-manifest-v1\n"


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


# Remembered: one log names each entry's blob several times (the upload plan, the commit's
# checks, its file rows); decoding 20,000 base64 digests each time was a fifth of a W1 commit.
@functools.lru_cache(maxsize=1 << 17)
def b64_to_hex(digest: str) -> str:
    """``1B2M2Y8AsgTpgAmY7PhCfg==`` → ``d41d8cd98f00b204e9800998ecf8427e``."""
    return check_b64_digest(digest, raw=True).hex()


def hex_to_b64(hexdigest: str) -> str:
    try:
        raw = bytes.fromhex(hexdigest)
    except ValueError:
        raise ValidationError(f"{hexdigest!r} is not a hex MD5 digest") from None
    if len(raw) != 16:
        raise ValidationError(f"{hexdigest!r} is not a hex MD5 digest")
    return base64.b64encode(raw).decode("ascii")


def check_b64_digest(digest: object, *, raw: bool = False) -> bytes:
    """Validate a base64 MD5 digest; return its 16 raw bytes."""
    if not isinstance(digest, str) or len(digest) != 24:
        raise ValidationError(f"{digest!r} is not a base64 MD5 digest")
    try:
        out = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{digest!r} is not a base64 MD5 digest") from None
    if len(out) != 16:
        raise ValidationError(f"{digest!r} is not a base64 MD5 digest")
    return out


_HEX_MD5 = re.compile(r"[0-9a-f]{32}")


def is_hex_md5(value: object) -> bool:
    return isinstance(value, str) and _HEX_MD5.fullmatch(value) is not None


def md5_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Return (hex MD5, size) of a file, read in chunks."""
    h = hashlib.md5()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """Return (base64 MD5, size) of a file, read in chunks."""
    hexdigest, size = md5_file(path)
    return base64.b64encode(bytes.fromhex(hexdigest)).decode("ascii"), size


def copy_hashing(
    src: IO[bytes], dest: str | os.PathLike[str], mode: int = 0o644
) -> tuple[str, int]:
    """Copy a stream into a new file (created with ``mode``) while hashing it: (hex MD5, size).

    Raises FileExistsError if ``dest`` exists: callers write to fresh temporary names.
    """
    h = hashlib.md5()
    size = 0
    # The mode applies to the name only: the descriptor we write through stays writable.
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with open(fd, "wb") as out:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def stored_blob(entry_digest: str, extra: Mapping[str, Any] | None = None) -> str:
    """The store name (hex MD5) of a stored entry's bytes."""
    alg = (extra or {}).get("alg", "MD5")
    if alg != "MD5":
        raise ValidationError(f"digest algorithm {alg!r} is not supported by this store")
    return b64_to_hex(entry_digest)


def version_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """Hex MD5 over the sorted ``path:digest`` lines; only paths and digests count."""
    h = hashlib.md5(_HEADER)
    for path, digest in sorted(pairs):
        h.update(f"{path}:{digest}\n".encode())
    return h.hexdigest()

"""Byte sizes as people write them (``10GB``, ``512MiB``, ``1.5 G``) and as we print them.

Decimal units are powers of 1000 and binary ones powers of 1024, as ``wandb artifact cache
cleanup 10GB`` and ``du`` read them; a bare number is bytes.
"""

from __future__ import annotations

import re

from cairn.errors import ValidationError

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "tib": 1 << 40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(value: str | int, name: str = "size") -> int:
    """``"10GB"`` → 10,000,000,000; ``"512MiB"`` → 536,870,912; an int is bytes.

    Raises:
        ValidationError: not a size, or negative.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValidationError(f"{name} must be 0 or more")
        return value
    m = _SIZE.fullmatch(str(value))
    unit = m[2].lower() if m else ""
    if m is None or unit not in _UNITS:
        raise ValidationError(f"{name}={value!r} is not a size (write e.g. 10GB, 512MiB, 1000000)")
    return int(float(m[1]) * _UNITS[unit])


def format_size(n: int) -> str:
    """``1536`` → ``1.5 KiB``: binary units, one decimal."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"

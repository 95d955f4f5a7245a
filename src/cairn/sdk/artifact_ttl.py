"""``ArtifactTTL``: W&B's name for "inherit the entity's default TTL"."""

from __future__ import annotations

from enum import Enum


class ArtifactTTL(Enum):
    """Assign ``ArtifactTTL.INHERIT`` to ``artifact.ttl`` to follow the entity's default TTL."""

    INHERIT = 0

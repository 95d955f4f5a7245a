"""Where ``artifact.link(target_path)`` points: the target path forms of the W&B reference."""

from __future__ import annotations

from dataclasses import dataclass

from cairn import naming
from cairn.errors import ValidationError


@dataclass(frozen=True)
class LinkTarget:
    entity: str
    project: str
    portfolio: str


def parse_target(path: str, entity: str, project: str) -> LinkTarget:
    """``portfolio``, ``project/portfolio`` or ``entity/project/portfolio``; the registry forms
    (``model-registry/NAME``, ``wandb-registry-REGISTRY/NAME``, with an optional entity or
    organisation in front) are the two- and three-part forms with a registry's project name.
    Missing parts are the source version's (``entity``, ``project``).

    Raises:
        ValidationError: an empty path, an alias or version in it, too many parts, bad names.
    """
    if not isinstance(path, str) or not path:
        raise ValidationError(f"link target must be a non-empty string, got {path!r}")
    if ":" in path:
        raise ValidationError(
            f"link target {path!r} names a portfolio, not a version: give aliases=[...] instead"
        )
    parts = path.split("/")
    if len(parts) > 3:
        raise ValidationError(
            f"link target {path!r} has too many parts: use 'portfolio', 'project/portfolio' "
            "or 'entity/project/portfolio'"
        )
    for p in parts:
        naming.check_name(p, "link target part")
    return LinkTarget(
        entity=parts[-3] if len(parts) == 3 else entity,
        project=parts[-2] if len(parts) >= 2 else project,
        portfolio=parts[-1],
    )

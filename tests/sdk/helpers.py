"""Small helpers shared by the SDK behaviour tests (public API only)."""

from __future__ import annotations

import base64
import hashlib
import warnings
from pathlib import Path

import cairn as wandb

MANIFEST_HEADER = "wandb-artifact-manifest-v1\n"


def b64md5(data: bytes) -> str:
    """The W&B entry digest, computed independently of Cairn."""
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def version_digest(contents: dict[str, bytes]) -> str:
    """The W&B version digest of path -> bytes, computed independently of Cairn."""
    h = hashlib.md5(MANIFEST_HEADER.encode())
    for path in sorted(contents):
        h.update(f"{path}:{b64md5(contents[path])}\n".encode())
    return h.hexdigest()


def tree(root: str | Path) -> dict[str, bytes]:
    """Every file under ``root`` as relative POSIX path -> bytes."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def entry_paths(art: wandb.Artifact) -> set[str]:
    return set(art.manifest.to_json()["contents"])


def log(
    project: str,
    art: wandb.Artifact,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
    job_type: str = "test",
) -> wandb.Artifact:
    with wandb.init(project=project, job_type=job_type) as run:
        out = run.log_artifact(art, aliases=aliases, tags=tags)
        out.wait()
    return out


def versions(project: str, name: str, type_name: str) -> list[str]:
    """Version labels of a collection in order, or [] when it does not exist."""
    api = wandb.Api()
    if not api.artifact_exists(f"{project}/{name}"):
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [a.version for a in api.artifacts(type_name, f"{project}/{name}")]

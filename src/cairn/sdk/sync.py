"""``cairn sync``: push what was logged to the embedded store (``mode="offline"``, or with no
server configured) up to the configured server, like ``wandb sync``.

Every committed version of every sequence in the chosen projects goes to the same project
name under the server entity, oldest first, with its description, metadata, references,
custom aliases and tags. A version is *already there* when a version of the same collection on
the server has its digest (the manifest's content, not its volatile metadata): nothing is
uploaded, only its aliases and tags are added. So a re-run sends nothing and changes nothing.
Portfolios and registries (links) and runs' history are not synced.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cairn.errors import NotFoundError
from cairn.sdk.api import Api
from cairn.sdk.artifact import Artifact
from cairn.sdk.projects import list_projects

_REGISTRY_PREFIXES = ("wandb-registry-", "model-registry")


@dataclass(frozen=True)
class Synced:
    """One local version and what became of it on the server."""

    source: str  # entity/project/name:vN in the embedded store
    target: str  # entity/project/name:vM on the server
    pushed: bool  # False: the server already had it (aliases and tags may have been added)


def _custom(aliases: Sequence[str]) -> list[str]:
    return [a for a in aliases if a != "latest"]


def _push(version: Artifact, entity: str, project: str) -> Artifact:
    """Log a copy of a local version to the server: its files come from the embedded store
    through the cache; its references, description and metadata are carried over as they are."""
    import cairn

    draft = version.new_draft()
    files = [e for e in version.manifest.entries.values() if e.ref is None]
    with tempfile.TemporaryDirectory(prefix="cairn-sync-") as tmp:
        if files:
            version._download_entries([e.path for e in files], root=tmp, skip_cache=None)
        for e in files:
            draft.remove(e.path)
            draft.add_file(Path(tmp) / e.path, name=e.path)
        with cairn.init(entity=entity, project=project, job_type="cairn-sync") as run:
            logged = run.log_artifact(
                draft, aliases=_custom(version.aliases), tags=list(version.tags)
            )
            logged.wait()
    return logged


def sync(
    *,
    entity: str | None = None,
    projects: Sequence[str] | None = None,
    report: Callable[[Synced], None] | None = None,
) -> list[Synced]:
    """Push the embedded store's versions to the configured server (see the module docstring).

    ``entity``: the server entity to push to (default: the logged-in user's). ``projects``:
    only these project names. ``report`` is called after each version.

    Raises ValidationError when no server is configured, and whatever the server raises
    (PermissionDeniedError without write access to the entity).
    """
    from cairn.errors import ValidationError

    remote = Api()
    if not remote.settings.base_url:
        raise ValidationError("no server configured to sync to: run `cairn login` first")
    local = Api({"base_url": ""})
    target_entity = entity or remote.default_entity
    done: list[Synced] = []
    for proj in list_projects(local._backend):
        if projects and proj.name not in projects:
            continue
        if proj.name.startswith(_REGISTRY_PREFIXES):
            continue
        try:
            theirs = {
                c.name: c for c in remote.artifact_collections(f"{target_entity}/{proj.name}")
            }
        except NotFoundError:
            theirs = {}
        for coll in local.artifact_collections(f"{proj.entity}/{proj.name}"):
            if not coll.is_sequence():
                continue
            present: dict[str, Artifact] = {}
            if coll.name in theirs:
                present = {a.digest: a for a in theirs[coll.name].artifacts()}
            for version in coll.artifacts():
                if version.state != "COMMITTED":
                    continue
                target = present.get(version.digest)
                if target is None:
                    target = _push(version, target_entity, proj.name)
                    present[version.digest] = target
                    pushed = True
                else:
                    pushed = False
                    want_aliases = sorted(set(target.aliases) | set(_custom(version.aliases)))
                    want_tags = sorted(set(target.tags) | set(version.tags))
                    if want_aliases != sorted(target.aliases) or want_tags != sorted(target.tags):
                        target.aliases = want_aliases
                        target.tags = want_tags
                        target.save()
                item = Synced(version.qualified_name, target.qualified_name, pushed)
                done.append(item)
                if report is not None:
                    report(item)
    return done
